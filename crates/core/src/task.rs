//! A task record and its state machine.
//!
//! ```text
//!            try_start            finish
//!  PENDING ─────────────▶ RUNNING ───────▶ FINISHED
//!     │    ◀─────────────
//!     │        unstart
//!     │ try_cancel
//!     ▼
//!  CANCELLED
//! ```
//!
//! Every transition out of `PENDING` is a compare-and-swap on one atomic byte, so a `cancel()`
//! from the main thread racing a worker's take has exactly one winner: either the task runs and
//! `cancel()` returns `false`, or it never runs and `cancel()` returns `true`.
//!
//! `unstart` is the pool's alone, under its lock, for a record handed to a child process as
//! started that the child never began (it died running an earlier record of its batch,
//! `Pool::complete`): the record goes back to the queue, to be taken or cancelled again as any.

use crate::sync::{AtomicU8, Ordering};

/// Identifies a task within one pool; assigned in submission order, starting at 1.
pub type TaskId = u64;

/// The four states of Python's `Future`, as seen by the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum State {
    Pending = 0,
    Running = 1,
    Cancelled = 2,
    Finished = 3,
}

impl State {
    fn from_u8(raw: u8) -> State {
        match raw {
            0 => State::Pending,
            1 => State::Running,
            2 => State::Cancelled,
            _ => State::Finished,
        }
    }
}

/// What a task carries to its worker. The core never looks inside `data`: the JavaScript codec
/// owns its format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// Index of the task function in the pool's function table.
    pub func: u32,
    /// How many items the record carries (1 for `submit`, the chunk length for `map`).
    pub items: u32,
    /// The codec's tag for `data` (e.g. JSON text or a structured-clone buffer).
    pub kind: u8,
    pub data: Vec<u8>,
    /// Large blocks that travel beside `data` (see [`Outcome::blocks`](crate::Outcome::blocks)).
    pub blocks: Vec<Vec<u8>>,
}

/// A record shared by the queue, the table, the worker holding it and the batch carrying it.
/// std's `Arc` even under loom: the task's state is a model-checked atomic of its own, and
/// counting its owners needs no model checking (loom would explore every clone and drop).
pub type SharedTask = std::sync::Arc<Task>;

/// One submitted record: its id, its atomic state and its payload (immutable: a record reserved by
/// one worker may be run by another that steals it, see `Pool::try_take`).
#[derive(Debug)]
pub struct Task {
    id: TaskId,
    /// For a range of a `map` job: the job's id and the range's first item.
    range_of: Option<(TaskId, u32)>,
    func: u32,
    items: u32,
    state: AtomicU8,
    /// When it was submitted (a job's range: when its job was), and when it started, in
    /// nanoseconds after that (0: not yet), for `stats()`. A timestamp, not part of the state
    /// machine: std's atomic even under loom.
    queued_at: std::time::Instant,
    started_ns: std::sync::atomic::AtomicU64,
    /// Travels in a batch of its own (see [`Pool::submit_batch_alone`](crate::Pool::submit_batch_alone)).
    pub(crate) alone: bool,
    /// Immutable: the batches that carry it to a worker share the task itself (see
    /// `pool::Taken`), so that a payload is neither copied under the pool's lock nor allocated
    /// apart from its task.
    payload: Payload,
}

impl Task {
    /// A pending record, submitted at `queued_at` (one clock reading serves a whole batch).
    pub fn new(id: TaskId, payload: Payload, queued_at: std::time::Instant) -> Self {
        Task {
            id,
            range_of: None,
            func: payload.func,
            items: payload.items,
            state: AtomicU8::new(State::Pending as u8),
            queued_at,
            started_ns: std::sync::atomic::AtomicU64::new(0),
            alone: false,
            payload,
        }
    }

    /// A range of items `first..first + payload.items` of job `job` (submitted at `queued_at`),
    /// taken by a worker: it is RUNNING from the start (a job's items are claimed by moving the
    /// job's cursor).
    pub fn job_range(job: TaskId, first: u32, payload: Payload, queued_at: std::time::Instant) -> Self {
        let mut task = Task::new(job, payload, queued_at);
        task.range_of = Some((job, first));
        task.state = AtomicU8::new(State::Running as u8);
        task.note_start();
        task
    }

    /// When it was submitted.
    pub fn queued_at(&self) -> std::time::Instant {
        self.queued_at
    }

    /// When it started, if it did.
    pub fn started_at(&self) -> Option<std::time::Instant> {
        let ns = self.started_ns.load(std::sync::atomic::Ordering::Relaxed);
        (ns > 0).then(|| self.queued_at + std::time::Duration::from_nanos(ns))
    }

    fn note_start(&self) {
        let ns = u64::try_from(self.queued_at.elapsed().as_nanos()).unwrap_or(u64::MAX).max(1);
        self.started_ns.store(ns, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The index of the first item: 0, or the range's start within its job.
    pub fn first_item(&self) -> u32 {
        self.range_of.map_or(0, |(_, first)| first)
    }

    /// The task function's index.
    pub fn func(&self) -> u32 {
        self.func
    }

    /// Whether it travels in a batch of its own (it may be stopped by ending its worker).
    pub fn alone(&self) -> bool {
        self.alone
    }

    /// How many items the record carries.
    pub fn items(&self) -> u32 {
        self.items
    }

    pub fn state(&self) -> State {
        State::from_u8(self.state.load(Ordering::Acquire))
    }

    /// PENDING → RUNNING. `true` means this caller owns the task and must run it.
    pub fn try_start(&self) -> bool {
        let started = self.transition(State::Pending, State::Running);
        if started {
            self.note_start();
        }
        started
    }

    /// PENDING → CANCELLED. `true` when the task is cancelled (now or before), `false` when it is
    /// running or finished, as Python's `Future.cancel()`.
    pub fn try_cancel(&self) -> bool {
        match self.state.compare_exchange(
            State::Pending as u8,
            State::Cancelled as u8,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => true,
            Err(current) => current == State::Cancelled as u8,
        }
    }

    /// RUNNING → PENDING, by the pool, for a record a worker was handed as started but never
    /// began (its worker died running an earlier record of the batch): it goes back to the queue.
    /// `false` for a range of a `map` job (it has no place in the queue of its own) or a record
    /// not running.
    pub fn unstart(&self) -> bool {
        if self.range_of.is_some() || !self.transition(State::Running, State::Pending) {
            return false;
        }
        self.started_ns.store(0, Ordering::Relaxed);
        true
    }

    /// RUNNING → FINISHED, by the worker that started the task.
    pub fn finish(&self) {
        let was = self.state.swap(State::Finished as u8, Ordering::AcqRel);
        debug_assert_eq!(was, State::Running as u8, "finish() on a task that was not running");
    }

    /// What the record carries to its worker.
    pub fn payload(&self) -> &Payload {
        &self.payload
    }

    fn transition(&self, from: State, to: State) -> bool {
        self.state.compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn task() -> Task {
        Task::new(1, Payload { func: 0, items: 1, kind: 0, data: b"[1]".to_vec(), blocks: vec![] }, std::time::Instant::now())
    }

    #[test]
    fn runs_once_and_finishes() {
        let t = task();
        assert!(t.try_start());
        assert!(!t.try_start());
        assert_eq!(t.payload().data, b"[1]");
        assert!(!t.try_cancel(), "a running task cannot be cancelled");
        t.finish();
        assert_eq!(t.state(), State::Finished);
        assert!(!t.try_cancel());
    }

    #[test]
    fn cancel_is_idempotent_and_blocks_start() {
        let t = task();
        assert!(t.try_cancel());
        assert!(t.try_cancel(), "cancelling twice still answers true");
        assert!(!t.try_start());
        assert_eq!(t.state(), State::Cancelled);
    }
}
