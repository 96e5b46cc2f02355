//! The completion queue: outcomes travel from workers to the main thread in batches, and the main
//! thread is woken at most once per batch.
//!
//! Invariant (no lost wake-up, no wake storm): `wake_pending` is `true` from the moment a push
//! asks for a wake-up until the main thread starts a drain. A push that finds it `false` sets it
//! and returns `true` (the caller must wake the main thread); every other push returns `false`.
//! `drain` clears the flag *before* taking the items, so an item pushed after the take always finds
//! the flag clear and triggers the next wake-up.
//!
//! A main thread that is polling anyway (see `poll`) sets the flag instead: pushes then wake
//! nobody, which saves each worker a syscall and the main thread a late, empty wake-up. Polling
//! must end with a `drain`, which restores the invariant above.

use crate::sync::{lock, AtomicBool, Mutex, Ordering};
use crate::task::TaskId;

/// How a task ended, as far as the core knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    /// The worker ran the task; `data` is its encoded outcome (a value or an error, per item).
    Done = 0,
    /// The pool broke before the task could finish; `data` is empty.
    Broken = 1,
    /// The worker ran none of these items: their run was stopped first (`frames::KIND_SKIPPED`);
    /// `data` is empty.
    Skipped = 2,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Completion {
    /// The record's id (a job's id for a range of a job).
    pub id: TaskId,
    /// The items this outcome covers: `first_item..first_item + items` (0 and the record's items
    /// for a plain record).
    pub first_item: u32,
    pub items: u32,
    pub status: Status,
    pub kind: u8,
    pub data: Vec<u8>,
    /// Large blocks of the outcome kept out of `data`, in order (see [`Outcome::blocks`]).
    pub blocks: Vec<Vec<u8>>,
}

/// What a worker reports for one record it ran: an encoded value, opaque to the core.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub kind: u8,
    pub data: Vec<u8>,
    /// Blocks that travel beside `data` rather than in it: large arrays the task returned, each
    /// in an allocation of its own, which the core moves from the outcome to its completion
    /// without copying (the binding copies each once, into the buffer JavaScript gets). What
    /// refers to them in `data` is the encoding's business.
    pub blocks: Vec<Vec<u8>>,
}

impl From<(u8, Vec<u8>)> for Outcome {
    fn from((kind, data): (u8, Vec<u8>)) -> Self {
        Self { kind, data, blocks: Vec::new() }
    }
}

#[derive(Debug, Default)]
pub struct CompletionQueue {
    items: Mutex<Vec<Completion>>,
    wake_pending: AtomicBool,
}

impl CompletionQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `batch`; `true` when the caller must wake the main thread.
    pub fn push(&self, batch: impl IntoIterator<Item = Completion>) -> bool {
        lock(&self.items).extend(batch);
        !self.wake_pending.swap(true, Ordering::AcqRel)
    }

    /// Takes every queued completion. Called by the main thread when woken.
    pub fn drain(&self) -> Vec<Completion> {
        // A swap, not a store, here and in `poll`: loom lets a plain store land between the read
        // and the write of a concurrent swap (tokio-rs/loom#254), a false lost wake-up.
        self.wake_pending.swap(false, Ordering::AcqRel);
        std::mem::take(&mut *lock(&self.items))
    }

    /// Takes every queued completion, and asks pushes not to wake the main thread: it is
    /// polling. The main thread must `drain` once it stops polling, or later pushes are not seen.
    pub fn poll(&self) -> Vec<Completion> {
        self.wake_pending.swap(true, Ordering::AcqRel);
        std::mem::take(&mut *lock(&self.items))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn done(id: TaskId) -> Completion {
        Completion { id, first_item: 0, items: 1, status: Status::Done, kind: 0, data: vec![], blocks: vec![] }
    }

    #[test]
    fn one_wake_per_drain() {
        let q = CompletionQueue::new();
        assert!(q.push([done(1)]));
        assert!(!q.push([done(2)]), "a wake-up is already in flight");
        assert_eq!(q.drain().iter().map(|c| c.id).collect::<Vec<_>>(), [1, 2]);
        assert!(q.push([done(3)]), "after a drain the next push wakes again");
        assert_eq!(q.drain().len(), 1);
        assert!(q.drain().is_empty());
    }

    #[test]
    fn polling_suppresses_wakes_until_the_next_drain() {
        let q = CompletionQueue::new();
        assert!(q.poll().is_empty());
        assert!(!q.push([done(1)]), "the main thread is polling");
        assert_eq!(q.poll().len(), 1);
        assert!(!q.push([done(2)]));
        assert_eq!(q.drain().len(), 1, "the last drain sees what was pushed while polling");
        assert!(q.push([done(3)]), "polling ended: the next push wakes again");
    }
}
