//! Password hashing (argon2id) on a bounded pool of worker threads.
//!
//! One argon2 hash takes ~19 MiB and tens of milliseconds of CPU. Run on tokio's blocking pool
//! (up to 512 threads), 256 concurrent wrong sign-ins took the server to 6.7 GiB; here at most
//! `workers` hashes run at once, at most `queue` wait, and the rest are refused at once (the
//! caller answers `429`), so memory stays flat under any number of attempts.

use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

const MAX_PASSWORD_LEN: usize = 1024;
const MIN_PASSWORD_LEN: usize = 8;

/// The longest password accepted, in bytes (longer sign-ins are refused before hashing).
pub const MAX_LEN: usize = MAX_PASSWORD_LEN;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must be at least {MIN_PASSWORD_LEN} characters")]
    TooShort,
    #[error("the password must be at most {MAX_PASSWORD_LEN} bytes")]
    TooLong,
    #[error("hashing failed: {0}")]
    Hash(String),
}

/// Hashes a password with argon2id and a random salt (synchronous: the CLI calls it directly,
/// the server through [`PasswordPool`]).
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(PasswordError::TooShort);
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(PasswordError::TooLong);
    }
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

thread_local! {
    /// The argon2 working memory of this thread, reused by every verification on it: a fresh
    /// ~19 MiB allocation per attempt fragments the allocator (measured: 25 verifications on
    /// two threads left the server 170 MiB larger), one kept buffer per worker does not.
    static MEMORY: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Checks `password` against a PHC-format argon2 hash, in this thread's kept memory.
pub fn verify_password(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let Ok(version) = parsed.version.map(Version::try_from).transpose() else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version.unwrap_or_default(), params);
    let mut out = vec![0u8; expected.len()];
    let hashed = MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        argon2.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory[..])
    });
    // `Output`'s equality is constant-time.
    hashed.is_ok() && Output::new(&out).is_ok_and(|out| out == expected)
}

/// Every worker and queue slot is taken: the caller should refuse and ask to retry shortly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("password hashing is busy")]
pub struct Busy;

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads that hash passwords, fed through a bounded queue. Each thread's
/// allocator arena keeps at most one hash's memory, so the pool's memory is bounded by
/// `workers`, whatever the load.
#[derive(Clone)]
pub struct PasswordPool {
    jobs: SyncSender<Job>,
}

impl PasswordPool {
    /// `workers` threads (about the number of cores) and room for `queue` waiting jobs.
    pub fn new(workers: usize, queue: usize) -> Self {
        let (jobs, rx) = std::sync::mpsc::sync_channel::<Job>(queue);
        let rx: Arc<Mutex<Receiver<Job>>> = Arc::new(Mutex::new(rx));
        for i in 0..workers.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("password-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return, // the pool was dropped
                        }
                    }
                })
                .expect("spawning a password thread");
        }
        PasswordPool { jobs }
    }

    /// One worker per core, and a queue a few hashes deep per worker (a wait of well under a
    /// second before the rest are refused).
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::new(cores, cores * 8)
    }

    /// Runs `f` on a worker, or refuses at once when the queue is full.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        match self.jobs.try_send(job) {
            Ok(()) => rx.await.map_err(|_| Busy),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(Busy),
        }
    }

    pub async fn verify(&self, password: String, hash: String) -> Result<bool, Busy> {
        self.run(move || verify_password(&password, &hash)).await
    }

    pub async fn hash(&self, password: String) -> Result<Result<String, PasswordError>, Busy> {
        self.run(move || hash_password(&password)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_reject() {
        let hash = hash_password("correct horse").unwrap();
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
        assert!(matches!(
            hash_password("short"),
            Err(PasswordError::TooShort)
        ));
    }

    #[tokio::test]
    async fn a_full_pool_refuses_instead_of_queueing_without_bound() {
        let pool = PasswordPool::new(1, 1);
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = Arc::new(Mutex::new(wait));
        let blocker = {
            let wait = wait.clone();
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(move || wait.lock().unwrap().recv().is_ok()).await })
        };
        // Let the worker take the first job, then fill the one queue slot.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let queued = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(|| 7).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(pool.run(|| 1).await, Err(Busy), "no room: refused at once");
        release.send(()).unwrap();
        assert_eq!(blocker.await.unwrap(), Ok(true));
        assert_eq!(queued.await.unwrap(), Ok(7), "the queued job ran");
        assert_eq!(pool.run(|| 2).await, Ok(2), "room again");
    }
}
