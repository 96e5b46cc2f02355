//! The records in flight by id, for `cancel`, `state` and stopping (main thread only).
//!
//! Ids are handed out in increasing order and records mostly complete in about that order, so
//! records live in a deque indexed by `id - base`: an insert is a push, a removal clears a slot
//! and pops the cleared slots at the front. No hashing, and neighbouring ids are neighbours in
//! memory (a hash table spread a burst of 100,000 removals over random cache lines).
//!
//! Invariants:
//! - `slots[i]` is the record of id `base + i`, or `None` (removed, or an id that was never a
//!   record's: a `map` job's); the front slot is never `None` (cleared slots are popped).
//! - A record that stays in flight while many later ones complete would hold the front back and
//!   leave the deque mostly holes: once holes outnumber records by [`SPILL_RATIO`] (past
//!   [`SPILL_MIN`] slots), the front record moves to `stragglers`, a hash map, and the front
//!   advances. So memory stays proportional to the records in flight.

use std::collections::{HashMap, VecDeque};

use crate::task::{SharedTask, TaskId};

/// Holes per record beyond which the front record is spilled (see the module's doc).
const SPILL_RATIO: usize = 4;
/// Below this many slots, holes are not worth spilling for.
const SPILL_MIN: usize = 1024;

#[derive(Debug, Default)]
pub(crate) struct RecordTable {
    /// The id of `slots[0]` (see the invariants).
    base: TaskId,
    slots: VecDeque<Option<SharedTask>>,
    /// Records in `slots`.
    live: usize,
    stragglers: HashMap<TaskId, SharedTask>,
}

impl RecordTable {
    /// Adds the record `task`; its id must be above every id added before.
    pub fn insert(&mut self, task: SharedTask) {
        let id = task.id();
        if self.slots.is_empty() {
            self.base = id;
        }
        let index = (id - self.base) as usize;
        debug_assert!(index >= self.slots.len(), "ids are added in increasing order");
        self.slots.resize(index, None);
        self.slots.push_back(Some(task));
        self.live += 1;
        while self.slots.len() > SPILL_MIN && self.slots.len() > SPILL_RATIO * self.live {
            let front = self.slots.pop_front().flatten().expect("the front slot holds a record");
            self.stragglers.insert(front.id(), front);
            self.live -= 1;
            self.base += 1;
            self.pop_holes();
        }
    }

    pub fn get(&self, id: TaskId) -> Option<&SharedTask> {
        match self.index(id) {
            Some(index) => self.slots[index].as_ref(),
            None => self.stragglers.get(&id),
        }
    }

    /// Removes record `id`; answers it, `None` when there was none.
    pub fn remove(&mut self, id: TaskId) -> Option<SharedTask> {
        let Some(index) = self.index(id) else { return self.stragglers.remove(&id) };
        let task = self.slots[index].take()?;
        self.live -= 1;
        if index == 0 {
            self.pop_holes();
        }
        Some(task)
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0 && self.stragglers.is_empty()
    }

    /// Gives back the memory of a burst, once empty; answers whether there was much to give.
    pub fn shrink_if_large(&mut self, idle_capacity: usize) -> bool {
        let large = self.slots.capacity() > idle_capacity || self.stragglers.capacity() > idle_capacity;
        if large && self.is_empty() {
            self.slots = VecDeque::new();
            self.stragglers = HashMap::new();
            return true;
        }
        false
    }

    fn index(&self, id: TaskId) -> Option<usize> {
        let index = id.checked_sub(self.base)? as usize;
        (index < self.slots.len()).then_some(index)
    }

    /// Pops the cleared slots at the front (keeps the front slot a record's).
    fn pop_holes(&mut self) {
        while let Some(None) = self.slots.front() {
            self.slots.pop_front();
            self.base += 1;
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::task::{Payload, Task};

    fn task(id: TaskId) -> SharedTask {
        SharedTask::new(Task::new(id, Payload { func: 0, items: 1, kind: 0, data: Vec::new(), blocks: Vec::new() }, std::time::Instant::now()))
    }

    fn ids(table: &RecordTable, upto: TaskId) -> Vec<TaskId> {
        (1..=upto).filter(|&id| table.get(id).is_some_and(|t| t.id() == id)).collect()
    }

    #[test]
    fn finds_and_removes_in_any_order_with_gaps() {
        let mut table = RecordTable::default();
        for id in [1, 2, 3, 5, 6, 9] {
            table.insert(task(id));
        }
        assert_eq!(ids(&table, 10), [1, 2, 3, 5, 6, 9]);
        assert!(table.get(4).is_none() && table.get(10).is_none() && table.get(0).is_none());
        assert_eq!(table.remove(5).map(|t| t.id()), Some(5));
        assert!(table.remove(5).is_none(), "removed once");
        assert!(table.remove(4).is_none(), "never a record's");
        assert_eq!(table.remove(1).map(|t| t.id()), Some(1));
        assert_eq!(ids(&table, 10), [2, 3, 6, 9]);
        for id in [9, 3, 2, 6] {
            assert!(table.remove(id).is_some());
        }
        assert!(table.is_empty());
        table.insert(task(12));
        assert_eq!(ids(&table, 20), [12]);
    }

    #[test]
    fn a_long_pending_record_does_not_hold_the_memory_of_later_ones() {
        let mut table = RecordTable::default();
        table.insert(task(1));
        for id in 2..100_000 {
            table.insert(task(id));
            assert!(table.remove(id).is_some());
        }
        assert!(table.slots.len() <= SPILL_MIN + 1, "{} slots for one record", table.slots.len());
        assert_eq!(ids(&table, 100_000), [1], "the straggler is still found");
        table.insert(task(100_000));
        assert_eq!(table.remove(1).map(|t| t.id()), Some(1));
        assert_eq!(ids(&table, 100_000), [100_000]);
        assert!(table.remove(100_000).is_some());
        assert!(table.is_empty());
        assert!(!table.shrink_if_large(1 << 20));
    }

    #[test]
    fn matches_a_map_under_random_operations() {
        // A small deterministic generator: insert ids with random gaps, remove random ones.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut table = RecordTable::default();
        let mut reference = std::collections::BTreeMap::new();
        let mut id = 0;
        for _ in 0..200_000 {
            if next() % 3 != 0 || reference.is_empty() {
                id += 1 + next() % 3;
                table.insert(task(id));
                reference.insert(id, ());
            } else {
                // Mostly old records, sometimes any.
                let keys: Vec<_> = reference.keys().copied().take(8).collect();
                let victim = if next() % 10 == 0 { id - next() % id.min(50) } else { keys[(next() % keys.len() as u64) as usize] };
                assert_eq!(table.remove(victim).is_some(), reference.remove(&victim).is_some());
            }
        }
        for candidate in 0..=id + 1 {
            assert_eq!(table.get(candidate).is_some(), reference.contains_key(&candidate), "id {candidate}");
        }
        // The last insert left the deque within bounds (removals since then only add holes).
        table.insert(task(id + 1));
        assert!(table.slots.len() <= (SPILL_RATIO * table.live).max(SPILL_MIN));
    }
}
