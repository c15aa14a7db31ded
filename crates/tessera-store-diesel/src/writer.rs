//! SQLite's one writer: a thread of its own with one connection that runs this process's writes
//! one after the other, in the order they were asked for.
//!
//! SQLite has one writer at a time whatever we do. Left to SQLite, concurrent writers meet its
//! busy handler, which polls the lock with sleeps of up to 100 ms, so writes waited far longer
//! than they take; handed to tokio's blocking pool one at a time, each write still paid two
//! thread wake-ups before the next could start. Here a write waits in a queue, and the thread
//! starts the next the moment the previous one commits. A write that waited longer than the busy
//! timeout is not run at all: it is `Unavailable`, as a locked database is. A write from another
//! process (the CLI) still meets the busy handler, on the same busy timeout.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tessera_domain::StoreError;

use crate::pool::{AnyConnection, DbPool};

type Job = Box<dyn FnOnce(&mut AnyConnection) + Send>;

/// The queue to the writer thread; the thread ends when the last handle is dropped.
pub(crate) struct Writer {
    jobs: mpsc::Sender<(Instant, Job)>,
    busy_timeout: Duration,
}

impl Writer {
    /// Starts the thread; it takes its connection from `pool` (again after a failed write that
    /// left the connection broken).
    // The queueing deadline is a monotonic instant of this process, not a time of the domain.
    #[allow(clippy::disallowed_methods)]
    pub(crate) fn start(pool: DbPool, busy_timeout: Duration) -> Result<Self, StoreError> {
        let (jobs, queue) = mpsc::channel::<(Instant, Job)>();
        std::thread::Builder::new()
            .name("tessera-sqlite-writer".into())
            .spawn(move || {
                let mut conn = None;
                for (deadline, job) in queue {
                    if Instant::now() > deadline {
                        // The caller has been told it is unavailable; see `run`.
                        drop(job);
                        continue;
                    }
                    let c = match conn.take() {
                        Some(c) => c,
                        None => match pool.get() {
                            Ok(c) => c,
                            Err(_) => {
                                drop(job);
                                continue;
                            }
                        },
                    };
                    let mut c = c;
                    // A panicking write must not end the thread: its connection is discarded
                    // (it may be inside a transaction) and the next write takes a fresh one.
                    let survived =
                        std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut c))).is_ok();
                    if survived && !c.is_broken_conn() {
                        conn = Some(c);
                    }
                }
            })
            .map_err(|e| StoreError::Unavailable(format!("cannot start the writer: {e}")))?;
        Ok(Self { jobs, busy_timeout })
    }

    /// Runs `f` on the writer thread and waits for its answer. `Unavailable` when the write
    /// could not start within the busy timeout (the queue was that long, or the database locked
    /// by another process), or when the thread could not get a connection. A write that started
    /// in time waits at most the busy timeout for another process's lock, so an answer comes
    /// within twice the busy timeout.
    #[allow(clippy::disallowed_methods)] // The queueing deadline, as in `start`.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, StoreError> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let _ = answer.send(f(conn));
        });
        self.jobs
            .send((Instant::now() + self.busy_timeout, job))
            .map_err(|_| StoreError::Unavailable("the store is closed".into()))?;
        match answered.await {
            Ok(result) => result,
            // Dropped unrun: too late, or no connection.
            Err(_) => Err(StoreError::Unavailable("the database is busy".into())),
        }
    }
}

/// Whether a connection may be used again.
trait Broken {
    fn is_broken_conn(&mut self) -> bool;
}

impl Broken for r2d2::PooledConnection<crate::pool::Manager> {
    fn is_broken_conn(&mut self) -> bool {
        use diesel::r2d2::R2D2Connection as _;
        (**self).is_broken()
    }
}
