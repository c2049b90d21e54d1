//! Group commit: one task owns a connection and runs the hot writes (messages, read receipts,
//! the next-response clock) of every caller that arrived while the previous group committed,
//! in one transaction and one fsync.
//!
//! A job that fails before writing (an unknown conversation) fails alone; one that fails after
//! writing fails the whole group. Results are sent only after `COMMIT` returned, and if the
//! group cannot commit, every job in it gets the error and nothing of it is stored. Sequence numbers are
//! allocated inside the transaction (one writer: no two groups interleave), so they stay
//! gap-free per conversation; a resend in the same group finds the first copy and is a
//! duplicate.

use super::Conn;
use super::batch;
use super::dialect::q;
use super::webhooks::Hooks;
use crate::{Appended, Millis, ReadBy, Result, StoreError};
use tokio::sync::{mpsc, oneshot};

/// The most jobs one transaction takes.
const MAX_GROUP: usize = 512;
/// Jobs waiting for the writer: past this, callers wait for room (backpressure).
const QUEUE: usize = 8_192;

/// An owned `NewMessage`.
#[derive(Debug)]
pub(super) struct Message {
    pub conversation_id: i64,
    pub client_id: String,
    pub agent_id: Option<i64>,
    pub body: String,
    pub at: Millis,
    pub attachments: Vec<protocol::Attachment>,
}

pub(super) enum Job {
    Append(Message, oneshot::Sender<Result<Appended>>),
    MarkRead {
        conversation_id: i64,
        by: ReadBy,
        seq: u64,
        reply: oneshot::Sender<Result<()>>,
    },
    BeginNextResponse {
        conversation_id: i64,
        from: Millis,
        due: Option<Millis>,
        reply: oneshot::Sender<Result<bool>>,
    },
}

/// What a job produced, sent once the group committed.
enum Done {
    Append(oneshot::Sender<Result<Appended>>, Result<Appended>),
    MarkRead(oneshot::Sender<Result<()>>, Result<()>),
    BeginNextResponse(oneshot::Sender<Result<bool>>, Result<bool>),
}

impl Done {
    /// The job's error, if it failed.
    fn error(&self) -> Option<String> {
        match self {
            Done::Append(_, Err(e)) => Some(e.to_string()),
            Done::MarkRead(_, Err(e)) => Some(e.to_string()),
            Done::BeginNextResponse(_, Err(e)) => Some(e.to_string()),
            _ => None,
        }
    }

    fn send(self) {
        match self {
            Done::Append(tx, r) => drop(tx.send(r)),
            Done::MarkRead(tx, r) => drop(tx.send(r)),
            Done::BeginNextResponse(tx, r) => drop(tx.send(r)),
        }
    }

    /// The group did not commit: this job's result is void.
    fn fail(self, reason: &str) {
        let e = || StoreError::GroupFailed {
            reason: reason.to_owned(),
        };
        match self {
            Done::Append(tx, _) => drop(tx.send(Err(e()))),
            Done::MarkRead(tx, _) => drop(tx.send(Err(e()))),
            Done::BeginNextResponse(tx, _) => drop(tx.send(Err(e()))),
        }
    }
}

impl Job {
    fn fail(self, reason: &str) {
        let e = || StoreError::GroupFailed {
            reason: reason.to_owned(),
        };
        match self {
            Job::Append(_, tx) => drop(tx.send(Err(e()))),
            Job::MarkRead { reply, .. } => drop(reply.send(Err(e()))),
            Job::BeginNextResponse { reply, .. } => drop(reply.send(Err(e()))),
        }
    }
}

/// Opens a new connection for the writer (after the database restarted or dropped it).
pub(crate) type Connect = std::sync::Arc<
    dyn Fn() -> std::pin::Pin<
            Box<dyn std::future::Future<Output = std::result::Result<Conn, sqlx::Error>> + Send>,
        > + Send
        + Sync,
>;

/// The handle the store keeps; cloning it shares the writer.
#[derive(Clone, Debug)]
pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer task on `conn`; `connect` replaces it when it breaks.
    pub fn start(conn: Conn, connect: Connect, faults: Faults, hooks: Hooks) -> Self {
        let (jobs, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(conn, connect, rx, faults, hooks));
        Writer { jobs }
    }

    async fn submit<T>(&self, job: impl FnOnce(oneshot::Sender<Result<T>>) -> Job) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(job(tx))
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        rx.await.map_err(|_| StoreError::WriterStopped)?
    }

    pub async fn append(&self, message: Message) -> Result<Appended> {
        self.submit(|tx| Job::Append(message, tx)).await
    }

    pub async fn mark_read(&self, conversation_id: i64, by: ReadBy, seq: u64) -> Result<()> {
        self.submit(|reply| Job::MarkRead {
            conversation_id,
            by,
            seq,
            reply,
        })
        .await
    }

    pub async fn begin_next_response(
        &self,
        conversation_id: i64,
        from: Millis,
        due: Option<Millis>,
    ) -> Result<bool> {
        self.submit(|reply| Job::BeginNextResponse {
            conversation_id,
            from,
            due,
            reply,
        })
        .await
    }

    /// Jobs waiting for the writer now (for overload decisions and metrics).
    pub fn queued(&self) -> usize {
        QUEUE - self.jobs.capacity()
    }
}

async fn execute(conn: &mut Conn, sql: &str) -> Result<()> {
    sqlx::query(&q(sql)).execute(&mut *conn).await?;
    Ok(())
}

/// Faults injected by tests (feature `fault-injection`): the next group fails at commit.
#[derive(Clone, Debug, Default)]
pub(super) struct Faults {
    #[cfg(feature = "fault-injection")]
    next_commit: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl Faults {
    #[cfg(feature = "fault-injection")]
    pub fn fail_next_commit(&self, reason: &str) {
        *self.next_commit.lock().expect("faults lock") = Some(reason.to_owned());
    }

    fn take(&self) -> Option<String> {
        #[cfg(feature = "fault-injection")]
        return self.next_commit.lock().expect("faults lock").take();
        #[cfg(not(feature = "fault-injection"))]
        None
    }
}

/// After a group failed: if the connection itself is gone (the database restarted, a
/// network cut, the server ended it), a new one replaces it, so the next group can commit.
/// The failed group's callers were told to retry (their resends are deduplicated).
async fn heal(conn: &mut Conn, connect: &Connect) {
    use sqlx::Connection;
    if conn.ping().await.is_ok() {
        return;
    }
    let mut wait = std::time::Duration::from_millis(50);
    for _ in 0..8 {
        match connect().await {
            Ok(fresh) => {
                *conn = fresh;
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "reconnecting the database writer failed");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(std::time::Duration::from_secs(1));
            }
        }
    }
}

async fn run(
    mut conn: Conn,
    connect: Connect,
    mut rx: mpsc::Receiver<Job>,
    faults: Faults,
    hooks: Hooks,
) {
    let mut jobs = Vec::with_capacity(MAX_GROUP);
    while rx.recv_many(&mut jobs, MAX_GROUP).await > 0 {
        if let Err(e) = execute(&mut conn, super::dialect::BEGIN_WRITE).await {
            let reason = e.to_string();
            for job in jobs.drain(..) {
                job.fail(&reason);
            }
            heal(&mut conn, &connect).await;
            continue;
        }
        let mut done = Vec::with_capacity(jobs.len());
        let mut broken = None;
        let mut pending = jobs.drain(..).peekable();
        while broken.is_none() {
            // Consecutive messages are written together; other jobs one by one, in order.
            let mut messages = Vec::new();
            let mut replies = Vec::new();
            while let Some(Job::Append(..)) = pending.peek() {
                if let Some(Job::Append(m, tx)) = pending.next() {
                    messages.push(m);
                    replies.push(tx);
                }
            }
            if !messages.is_empty() {
                let (results, state) =
                    batch::append_batch(&mut conn, &messages, &hooks.snapshot()).await;
                for (tx, result) in replies.into_iter().zip(results) {
                    done.push(Done::Append(tx, result));
                }
                broken = state.err();
                continue;
            }
            // Not a message (those were all taken into the batch above).
            let Some(job) = pending.next() else { break };
            let outcome = apply(&mut conn, job).await;
            // On PostgreSQL a failed statement aborts the transaction (and its COMMIT only
            // rolls back): the whole group fails, so nothing before it is reported stored.
            if super::dialect::FAILED_STATEMENT_ABORTS
                && let Some(reason) = outcome.error()
            {
                broken = Some(reason);
            }
            done.push(outcome);
        }
        // A job that failed half-way leaves the transaction in a state nobody may commit.
        let commit = match (broken, faults.take()) {
            (Some(reason), _) | (None, Some(reason)) => Err(StoreError::GroupFailed { reason }),
            (None, None) => execute(&mut conn, "COMMIT").await,
        };
        match commit {
            Ok(()) => done.into_iter().for_each(Done::send),
            Err(e) => {
                let reason = e.to_string();
                let _ = execute(&mut conn, "ROLLBACK").await;
                for d in done {
                    d.fail(&reason);
                }
                for job in pending {
                    job.fail(&reason);
                }
                heal(&mut conn, &connect).await;
            }
        }
    }
}

/// Runs one job other than a message (each is one statement, atomic on its own).
async fn apply(conn: &mut Conn, job: Job) -> Done {
    match job {
        Job::MarkRead {
            conversation_id,
            by,
            seq,
            reply,
        } => Done::MarkRead(reply, mark_read(conn, conversation_id, by, seq).await),
        Job::BeginNextResponse {
            conversation_id,
            from,
            due,
            reply,
        } => Done::BeginNextResponse(
            reply,
            begin_next_response(conn, conversation_id, from, due).await,
        ),
        // Messages are written in batches (`batch::append_batch`), never one by one.
        Job::Append(_, tx) => Done::Append(
            tx,
            Err(StoreError::GroupFailed {
                reason: "a message outside its batch".into(),
            }),
        ),
    }
}

async fn mark_read(conn: &mut Conn, conversation_id: i64, by: ReadBy, seq: u64) -> Result<()> {
    let sql = match by {
        ReadBy::Visitor => {
            "UPDATE conversations \
             SET visitor_read = CASE WHEN ?1 < last_seq THEN ?1 ELSE last_seq END \
             WHERE id = ?2 AND visitor_read < CASE WHEN ?1 < last_seq THEN ?1 ELSE last_seq END"
        }
        ReadBy::Agent => {
            "UPDATE conversations \
             SET agent_read = CASE WHEN ?1 < last_seq THEN ?1 ELSE last_seq END \
             WHERE id = ?2 AND agent_read < CASE WHEN ?1 < last_seq THEN ?1 ELSE last_seq END"
        }
    };
    sqlx::query(&q(sql))
        .bind(seq as i64)
        .bind(conversation_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn begin_next_response(
    conn: &mut Conn,
    conversation_id: i64,
    from: Millis,
    due: Option<Millis>,
) -> Result<bool> {
    let r = sqlx::query(&q(
        "UPDATE conversations SET next_response_from = ?, next_response_due = ? \
         WHERE id = ? AND status = 'open' AND next_response_from IS NULL \
         AND last_author = 'visitor' AND first_response_at IS NOT NULL",
    ))
    .bind(from)
    .bind(due)
    .bind(conversation_id)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}
