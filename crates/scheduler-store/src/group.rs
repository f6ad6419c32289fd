//! Group commit: one thread that runs queued small write transactions together, each in a
//! savepoint of one shared transaction, and commits them at once.
//!
//! SQLite lets one connection write at a time, so concurrent writers only take turns; what
//! each turn costs besides its own statements (handing the writer connection from thread to
//! thread, `BEGIN IMMEDIATE`, the commit's WAL append) is paid once per group instead of once
//! per request. A job's answer is delivered only after the group committed, so nobody sees a
//! write that could still be rolled back; a job that fails is rolled back to its savepoint and
//! the others go on; a group whose commit fails fails every job of it, and nothing of it is
//! written.
//!
//! Jobs must be short transactions that end with the group: work that commits batch by batch
//! (the tick) takes the writer connection itself, and the group thread waits for it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread;

use diesel::connection::Connection;

use std::ops::DerefMut;

use crate::conn::{transaction_depth, write_transaction, Conn, JobError};
use crate::error::StoreError;

/// The most jobs committed together.
const MAX_GROUP: usize = 64;

/// The most jobs waiting; a submit beyond them is refused ([`GroupWriter::submit`]).
const QUEUE_CAPACITY: usize = 4_096;

/// One queued job: its work and where its answer goes.
trait Job: Send {
    /// Runs the work in a savepoint; returns what delivers the answer once the group's
    /// outcome is known, and the error of the savepoint itself if it could not be opened,
    /// released or rolled back (then the group's transaction may be gone, see
    /// [`commit_group`]).
    fn run(self: Box<Self>, conn: &mut Conn) -> (Box<dyn Deliver>, Option<StoreError>);
    /// Answers with `error` without running the work (the group could not start).
    fn fail(self: Box<Self>, error: &StoreError);
}

/// A job's answer, held until the group commits or fails.
trait Deliver: Send {
    /// Delivers the answer: the work's own result if the group committed (`None`), else
    /// `error` (a failed job keeps its own error: it wrote nothing either way).
    fn deliver(self: Box<Self>, commit_error: Option<&StoreError>);
}

struct Task<W, D> {
    work: W,
    done: D,
}

/// A job's result and where it goes.
struct Outcome<T, E, D> {
    result: Result<T, E>,
    done: D,
}

impl<T, E, W, D> Job for Task<W, D>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
    W: FnOnce(&mut Conn) -> Result<T, E> + Send + 'static,
    D: FnOnce(Result<T, E>) + Send + 'static,
{
    fn run(self: Box<Self>, conn: &mut Conn) -> (Box<dyn Deliver>, Option<StoreError>) {
        let Task { work, done } = *self;
        let mut broken = None;
        let result = conn
            .transaction(|conn| work(conn).map_err(JobError::Job))
            .map_err(|e| match e {
                JobError::Job(e) => e,
                JobError::Store(error) => {
                    broken = Some(error.replicate());
                    E::from(error)
                }
            });
        (Box::new(Outcome { result, done }), broken)
    }

    fn fail(self: Box<Self>, error: &StoreError) {
        (self.done)(Err(E::from(error.replicate())));
    }
}

impl<T, E, D> Deliver for Outcome<T, E, D>
where
    T: Send,
    E: From<StoreError> + Send,
    D: FnOnce(Result<T, E>) + Send,
{
    fn deliver(self: Box<Self>, commit_error: Option<&StoreError>) {
        let result = match (self.result, commit_error) {
            (Ok(_), Some(error)) => Err(E::from(error.replicate())),
            (result, _) => result,
        };
        (self.done)(result);
    }
}

/// The submitting side of a group-commit thread; clones share the thread, which ends when the
/// last clone is dropped (after running what is queued).
#[derive(Clone)]
pub(crate) struct GroupWriter {
    queue: SyncSender<Box<dyn Job>>,
}

impl std::fmt::Debug for GroupWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupWriter").finish_non_exhaustive()
    }
}

impl GroupWriter {
    /// Starts the thread. It writes on the connection `writer` gives (waiting for it in turn
    /// with anyone else who writes), and calls `between_groups` on it after each group, once
    /// the answers are out.
    pub(crate) fn start<C>(
        writer: impl Fn() -> Result<C, StoreError> + Send + 'static,
        between_groups: impl Fn(&mut Conn) + Send + 'static,
    ) -> std::io::Result<Self>
    where
        C: DerefMut<Target = Conn>,
    {
        let (queue, jobs) = mpsc::sync_channel(QUEUE_CAPACITY);
        thread::Builder::new()
            .name("group-commit".to_owned())
            .spawn(move || run(&writer, &between_groups, &jobs))?;
        Ok(Self { queue })
    }

    /// Queues `work`; `done` gets its result once the group holding it committed (or failed).
    /// `work` runs in a savepoint on the writer connection: its writes are rolled back if it
    /// returns an error, and it must not commit (no batch-by-batch work).
    ///
    /// Never blocks. If the queue is full or the thread is gone, `done` is not called and the
    /// error says so ([`StoreError::Unavailable`]).
    pub(crate) fn submit<T, E, W, D>(&self, work: W, done: D) -> Result<(), StoreError>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        W: FnOnce(&mut Conn) -> Result<T, E> + Send + 'static,
        D: FnOnce(Result<T, E>) + Send + 'static,
    {
        match self.queue.try_send(Box::new(Task { work, done })) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(StoreError::Unavailable(
                "too many writes are waiting".to_owned(),
            )),
            Err(TrySendError::Disconnected(_)) => Err(StoreError::Unavailable(
                "the writer thread has stopped".to_owned(),
            )),
        }
    }
}

/// The thread: waits for a job, takes what else is queued (up to [`MAX_GROUP`]), runs them as
/// one group; until every [`GroupWriter`] is dropped.
fn run<C: DerefMut<Target = Conn>>(
    writer: &impl Fn() -> Result<C, StoreError>,
    between_groups: &impl Fn(&mut Conn),
    jobs: &Receiver<Box<dyn Job>>,
) {
    while let Ok(first) = jobs.recv() {
        let mut group = Vec::with_capacity(MAX_GROUP);
        group.push(first);
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        // A panicking job drops the others' answer channels (their callers see the channel
        // closed) and, since the connection is dropped while unwinding, the pool discards it;
        // the thread goes on with the next group.
        let commit = || commit_group(writer, between_groups, group);
        if catch_unwind(AssertUnwindSafe(commit)).is_err() {
            log::error!("a write job panicked; its group was rolled back");
        }
    }
}

/// Runs `group` in one write transaction, each job in its savepoint, commits, then delivers
/// every answer.
///
/// If a savepoint itself fails (it cannot be released or rolled back), the database may have
/// ended the whole transaction on its own (SQLite does on a full disk or an I/O error), and
/// the jobs after it would run, and commit, outside any transaction while the ones before were
/// undone. So the group stops there: the rest is not run, the transaction is rolled back, and
/// every job of the group fails.
fn commit_group<C: DerefMut<Target = Conn>>(
    writer: &impl Fn() -> Result<C, StoreError>,
    between_groups: &impl Fn(&mut Conn),
    group: Vec<Box<dyn Job>>,
) {
    let mut conn = match writer() {
        Ok(conn) => conn,
        Err(error) => return group.into_iter().for_each(|job| job.fail(&error)),
    };
    let mut answers = Vec::with_capacity(group.len());
    let mut pending = group.into_iter();
    let committed = write_transaction(&mut conn, |conn| {
        for job in pending.by_ref() {
            let (answer, broken) = job.run(conn);
            answers.push(answer);
            if let Some(error) = broken {
                return Err(error);
            }
            // A job must end where it began: a savepoint it left open (one whose release failed)
            // would make the final commit a mere release, and nothing would be committed.
            if transaction_depth(conn) != Some(1) {
                return Err(StoreError::Corrupt(
                    "a write job left a savepoint open".to_owned(),
                ));
            }
        }
        Ok(())
    });
    // The group failed with savepoints still open: the rollback above undid only the innermost.
    // End the transaction for good; the pool then discards the connection, whose transaction
    // state diesel no longer knows.
    if committed.is_err() && transaction_depth(&mut conn).is_some() {
        if let Err(e) = diesel::connection::SimpleConnection::batch_execute(&mut *conn, "ROLLBACK")
        {
            log::error!("rolling back a failed write group: {e}");
        }
    }
    // Jobs not run: the transaction could not begin, or a savepoint failed.
    let error = committed.err();
    if let Some(error) = &error {
        pending.for_each(|job| job.fail(error));
    }
    for answer in answers {
        answer.deliver(error.as_ref());
    }
    between_groups(&mut conn);
}
