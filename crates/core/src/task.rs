//! A task record and its state machine.
//!
//! ```text
//!            try_start            finish
//!  PENDING ─────────────▶ RUNNING ───────▶ FINISHED
//!     │
//!     │ try_cancel
//!     ▼
//!  CANCELLED
//! ```
//!
//! Every transition out of `PENDING` is a compare-and-swap on one atomic byte, so a `cancel()`
//! from the main thread racing a worker's take has exactly one winner: either the task runs and
//! `cancel()` returns `false`, or it never runs and `cancel()` returns `true`.

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
#[derive(Debug)]
pub struct Payload {
    /// Index of the task function in the pool's function table.
    pub func: u32,
    /// How many items the record carries (1 for `submit`, the chunk length for `map`).
    pub items: u32,
    /// The codec's tag for `data` (e.g. JSON text or a structured-clone buffer).
    pub kind: u8,
    pub data: Vec<u8>,
    /// Large blocks that travel beside `data` (see [`Outcome::blocks`](crate::Outcome::blocks)).
    pub blocks: Vec<Block>,
}

/// The bytes of a large array that travels beside its record's frame (see [`Payload::blocks`]).
///
/// A block becomes the `ArrayBuffer` of the thread that takes its record without a copy
/// ([`Block::hand_over`]); the record's payload, which owns the block, is kept alive by that
/// buffer until the thread's garbage collector lets it go. From then on that thread may write the
/// bytes (a task owns its arguments), so they sit in `UnsafeCell`s.
///
/// Invariant: a block is handed over once. A record reserved by one worker and run by another
/// (`Pool::try_take` lets a worker steal a reservation) gets a copy ([`Block::bytes`]): the thread
/// that holds the first hand-over never ran that record, so it never wrote the bytes.
pub struct Block {
    bytes: Box<[std::cell::UnsafeCell<u8>]>,
    handed: std::sync::atomic::AtomicBool,
}

// SAFETY: the bytes are written only by the one thread they were handed to (see the invariant
// above), and read by another thread only when that one never ran their record.
unsafe impl Sync for Block {}

impl Block {
    pub fn new(bytes: Vec<u8>) -> Self {
        let bytes = bytes.into_boxed_slice();
        let len = bytes.len();
        // SAFETY: `UnsafeCell<u8>` has the layout of `u8` (it is `repr(transparent)`); the box is
        // rebuilt from the same allocation and length.
        let bytes = unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(Box::into_raw(bytes).cast::<std::cell::UnsafeCell<u8>>(), len)) };
        Block { bytes, handed: std::sync::atomic::AtomicBool::new(false) }
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The bytes, to become the receiving thread's `ArrayBuffer`: on the first call only (later
    /// callers copy [`Block::bytes`] instead). The caller keeps the block alive while that buffer
    /// lives.
    pub fn hand_over(&self) -> Option<*mut u8> {
        let first = !self.handed.swap(true, std::sync::atomic::Ordering::AcqRel);
        first.then(|| std::cell::UnsafeCell::raw_get(self.bytes.as_ptr()))
    }

    /// The bytes, to copy.
    ///
    /// # Safety
    /// No thread writes them meanwhile: they were not handed over, or were handed to a thread that
    /// does not run their record.
    pub unsafe fn bytes(&self) -> &[u8] {
        // SAFETY: the caller ensures no writer; the layout is `u8`'s (see `new`).
        unsafe { std::slice::from_raw_parts(std::cell::UnsafeCell::raw_get(self.bytes.as_ptr()), self.bytes.len()) }
    }
}

impl From<Vec<u8>> for Block {
    fn from(bytes: Vec<u8>) -> Self {
        Block::new(bytes)
    }
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Block({} bytes)", self.bytes.len())
    }
}

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
    /// Shared with the batches that carry it to a worker, so that a large payload is not copied
    /// under the pool's lock. std's `Arc` even under loom: immutable data, nothing to model.
    payload: std::sync::Arc<Payload>,
}

impl Task {
    pub fn new(id: TaskId, payload: Payload) -> Self {
        Task {
            id,
            range_of: None,
            func: payload.func,
            items: payload.items,
            state: AtomicU8::new(State::Pending as u8),
            payload: std::sync::Arc::new(payload),
        }
    }

    /// A range of items `first..first + payload.items` of job `job`, taken by a worker: it is
    /// RUNNING from the start (a job's items are claimed by moving the job's cursor).
    pub fn job_range(job: TaskId, first: u32, payload: Payload) -> Self {
        let mut task = Task::new(job, payload);
        task.range_of = Some((job, first));
        task.state = AtomicU8::new(State::Running as u8);
        task
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

    /// How many items the record carries.
    pub fn items(&self) -> u32 {
        self.items
    }

    pub fn state(&self) -> State {
        State::from_u8(self.state.load(Ordering::Acquire))
    }

    /// PENDING → RUNNING. `true` means this caller owns the task and must run it.
    pub fn try_start(&self) -> bool {
        self.transition(State::Pending, State::Running)
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

    /// RUNNING → FINISHED, by the worker that started the task.
    pub fn finish(&self) {
        let was = self.state.swap(State::Finished as u8, Ordering::AcqRel);
        debug_assert_eq!(was, State::Running as u8, "finish() on a task that was not running");
    }

    /// What the record carries to its worker.
    pub fn payload(&self) -> &std::sync::Arc<Payload> {
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
        Task::new(1, Payload { func: 0, items: 1, kind: 0, data: b"[1]".to_vec(), blocks: vec![] })
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
