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

use super::{existing_message, preview};
use crate::{Appended, MessageAuthor, Millis, ReadBy, Result, StoreError, StoredMessage};
use sqlx::SqliteConnection;
use tokio::sync::{mpsc, oneshot};

/// The most jobs one transaction takes.
const MAX_GROUP: usize = 512;
/// Jobs waiting for the writer: past this, callers wait for room (backpressure).
const QUEUE: usize = 8_192;

/// An owned `NewMessage`.
pub(super) struct Message {
    pub conversation_id: i64,
    pub client_id: String,
    pub agent_id: Option<i64>,
    pub body: String,
    pub at: Millis,
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

/// The handle the store keeps; cloning it shares the writer.
#[derive(Clone, Debug)]
pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer task on `conn`.
    pub fn start(conn: SqliteConnection, faults: Faults) -> Self {
        let (jobs, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(conn, rx, faults));
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

async fn execute(conn: &mut SqliteConnection, sql: &str) -> Result<()> {
    sqlx::query(sql).execute(&mut *conn).await?;
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

async fn run(mut conn: SqliteConnection, mut rx: mpsc::Receiver<Job>, faults: Faults) {
    let mut jobs = Vec::with_capacity(MAX_GROUP);
    while rx.recv_many(&mut jobs, MAX_GROUP).await > 0 {
        if let Err(e) = execute(&mut conn, "BEGIN IMMEDIATE").await {
            let reason = e.to_string();
            for job in jobs.drain(..) {
                job.fail(&reason);
            }
            continue;
        }
        let mut done = Vec::with_capacity(jobs.len());
        let mut broken = None;
        let mut pending = jobs.drain(..);
        for job in pending.by_ref() {
            let (result, fatal) = apply(&mut conn, job).await;
            done.push(result);
            if let Some(reason) = fatal {
                broken = Some(reason);
                break;
            }
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
            }
        }
    }
}

/// Runs one job. Each job's first write is one statement, atomic on its own: a job that fails
/// there (an unknown conversation) fails alone. A job that fails after writing returns the
/// reason as fatal, and the whole group is rolled back.
async fn apply(conn: &mut SqliteConnection, job: Job) -> (Done, Option<String>) {
    match job {
        Job::Append(m, tx) => match append(conn, &m).await {
            Step::Clean(result) => (Done::Append(tx, result), None),
            Step::Fatal(e) => {
                let reason = e.to_string();
                (Done::Append(tx, Err(e)), Some(reason))
            }
        },
        Job::MarkRead {
            conversation_id,
            by,
            seq,
            reply,
        } => (
            Done::MarkRead(reply, mark_read(conn, conversation_id, by, seq).await),
            None,
        ),
        Job::BeginNextResponse {
            conversation_id,
            from,
            due,
            reply,
        } => (
            Done::BeginNextResponse(
                reply,
                begin_next_response(conn, conversation_id, from, due).await,
            ),
            None,
        ),
    }
}

/// How far an append got when it stopped.
enum Step<T> {
    /// Finished, or failed before writing anything.
    Clean(Result<T>),
    /// Failed after writing: the transaction must not commit.
    Fatal(StoreError),
}

async fn append(conn: &mut SqliteConnection, m: &Message) -> Step<Appended> {
    let kind = if m.agent_id.is_some() {
        "agent"
    } else {
        "visitor"
    };
    // The message with the conversation's next sequence number, unless it is a resend (same
    // client id) or the conversation does not exist. One writer holds the lock: no race.
    let inserted: std::result::Result<Option<i64>, sqlx::Error> = sqlx::query_scalar(
        "INSERT INTO messages (conversation_id, seq, client_id, author_kind, agent_id, body, created_at) \
         SELECT id, last_seq + 1, ?, ?, ?, ?, ? FROM conversations WHERE id = ? \
         ON CONFLICT (conversation_id, author_kind, client_id) DO NOTHING RETURNING seq",
    )
    .bind(&m.client_id)
    .bind(kind)
    .bind(m.agent_id)
    .bind(&m.body)
    .bind(m.at)
    .bind(m.conversation_id)
    .fetch_optional(&mut *conn)
    .await;
    let seq = match inserted {
        Err(e) => return Step::Clean(Err(e.into())),
        Ok(Some(seq)) => seq,
        Ok(None) => {
            return Step::Clean(
                match existing_message(conn, m.conversation_id, kind, &m.client_id).await {
                    Ok(Some(existing)) => Ok(Appended {
                        message: existing,
                        duplicate: true,
                        next_response_priority: None,
                    }),
                    Ok(None) => Err(StoreError::NotFound {
                        what: "conversation",
                    }),
                    Err(e) => Err(e),
                },
            );
        }
    };
    // The conversation follows; from here on a failure is fatal to the group.
    let row: std::result::Result<(String, bool), sqlx::Error> = sqlx::query_as(
        // Numbered parameters only: sqlx counts unnumbered ones on its own, so mixing the two
        // forms binds the wrong values.
        "UPDATE conversations SET last_seq = ?5, updated_at = ?1, preview = ?2, \
         last_author = ?3, first_response_at = CASE WHEN ?3 = 'agent' \
         THEN coalesce(first_response_at, ?1) ELSE first_response_at END, \
         next_response_from = CASE WHEN ?3 = 'agent' THEN NULL ELSE next_response_from END, \
         next_response_due = CASE WHEN ?3 = 'agent' THEN NULL ELSE next_response_due END \
         WHERE id = ?4 RETURNING priority, \
         ?3 = 'visitor' AND status = 'open' AND first_response_at IS NOT NULL \
         AND next_response_from IS NULL",
    )
    .bind(m.at)
    .bind(preview(&m.body))
    .bind(kind)
    .bind(m.conversation_id)
    .bind(seq)
    .fetch_one(&mut *conn)
    .await;
    let (priority, clock_may_start) = match row {
        Ok(row) => row,
        Err(e) => return Step::Fatal(e.into()),
    };
    let author = match m.agent_id {
        None => MessageAuthor::Visitor,
        Some(id) => {
            let name: std::result::Result<Option<String>, sqlx::Error> =
                sqlx::query_scalar("SELECT name FROM agents WHERE id = ?")
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await;
            match name {
                Ok(name) => MessageAuthor::Agent {
                    id,
                    name: name.unwrap_or_default(),
                },
                Err(e) => return Step::Fatal(e.into()),
            }
        }
    };
    Step::Clean(Ok(Appended {
        message: StoredMessage {
            conversation_id: m.conversation_id,
            seq: seq as u64,
            client_id: m.client_id.clone(),
            author,
            body: m.body.clone(),
            at: m.at,
        },
        duplicate: false,
        next_response_priority: clock_may_start.then_some(priority),
    }))
}

async fn mark_read(
    conn: &mut SqliteConnection,
    conversation_id: i64,
    by: ReadBy,
    seq: u64,
) -> Result<()> {
    let sql = match by {
        ReadBy::Visitor => {
            "UPDATE conversations SET visitor_read = min(max(visitor_read, ?), last_seq) \
             WHERE id = ? AND visitor_read < min(?, last_seq)"
        }
        ReadBy::Agent => {
            "UPDATE conversations SET agent_read = min(max(agent_read, ?), last_seq) \
             WHERE id = ? AND agent_read < min(?, last_seq)"
        }
    };
    sqlx::query(sql)
        .bind(seq as i64)
        .bind(conversation_id)
        .bind(seq as i64)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn begin_next_response(
    conn: &mut SqliteConnection,
    conversation_id: i64,
    from: Millis,
    due: Option<Millis>,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE conversations SET next_response_from = ?, next_response_due = ? \
         WHERE id = ? AND status = 'open' AND next_response_from IS NULL \
         AND last_author = 'visitor' AND first_response_at IS NOT NULL",
    )
    .bind(from)
    .bind(due)
    .bind(conversation_id)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}
