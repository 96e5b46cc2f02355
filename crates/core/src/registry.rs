//! The worker registry: which worker slots exist, which are idle, and what each one holds.
//!
//! Rules (Python's `_adjust_thread_count`, plus recycling):
//! - no worker before the first submit; a submit wakes an idle worker if there is one, else starts
//!   a new one while fewer than `max_workers` are alive;
//! - a worker that has run `max_tasks` records exits and is replaced on demand;
//! - a slot is reused only after its worker has exited, so slot numbers stay below `max_workers`.

use crate::sync::Arc;
use crate::task::Task;

/// Index of a worker slot; also the worker's doorbell index on the JavaScript side.
pub type Slot = u32;

/// What the caller must do after a change to the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dispatch {
    Nothing,
    /// Ring the doorbell of this idle worker.
    Wake(Slot),
    /// Start a worker for this slot.
    Spawn(Slot),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WorkerState {
    Starting,
    Busy,
    Idle,
    /// Told to exit (recycled or shut down); its exit is expected.
    Exiting,
    Gone,
}

#[derive(Debug)]
pub(crate) struct WorkerSlot {
    pub state: WorkerState,
    /// Records taken and not yet completed, in the order they were handed out.
    pub held: Vec<Arc<Task>>,
    pub records_run: u64,
}

#[derive(Debug)]
pub(crate) struct Registry {
    pub slots: Vec<WorkerSlot>,
    pub idle: Vec<Slot>,
    pub alive: usize,
    pub max_workers: usize,
    pub max_tasks: Option<u64>,
}

impl Registry {
    pub fn new(max_workers: usize, max_tasks: Option<u64>) -> Self {
        Registry { slots: Vec::new(), idle: Vec::new(), alive: 0, max_workers, max_tasks }
    }

    /// Python's `_adjust_thread_count`: reuse an idle worker, else start one if allowed.
    pub fn dispatch(&mut self) -> Dispatch {
        if let Some(slot) = self.idle.pop() {
            self.slots[slot as usize].state = WorkerState::Busy;
            return Dispatch::Wake(slot);
        }
        if self.alive < self.max_workers {
            return Dispatch::Spawn(self.start_slot());
        }
        Dispatch::Nothing
    }

    fn start_slot(&mut self) -> Slot {
        self.alive += 1;
        let fresh = WorkerSlot { state: WorkerState::Starting, held: Vec::new(), records_run: 0 };
        match self.slots.iter().position(|s| s.state == WorkerState::Gone) {
            Some(i) => {
                self.slots[i] = fresh;
                i as Slot
            }
            None => {
                self.slots.push(fresh);
                (self.slots.len() - 1) as Slot
            }
        }
    }

    pub fn slot(&mut self, slot: Slot) -> Option<&mut WorkerSlot> {
        self.slots.get_mut(slot as usize).filter(|s| s.state != WorkerState::Gone)
    }

    /// How many more records this worker may take before it is recycled.
    pub fn quota(&self, slot: Slot) -> u64 {
        let run = self.slots[slot as usize].records_run;
        self.max_tasks.map_or(u64::MAX, |max| max.saturating_sub(run))
    }

    pub fn park(&mut self, slot: Slot) {
        self.slots[slot as usize].state = WorkerState::Idle;
        self.idle.push(slot);
    }

    /// Every idle worker, marked as exiting (shutdown rings their doorbells).
    pub fn release_idle(&mut self) -> Vec<Slot> {
        let idle = std::mem::take(&mut self.idle);
        for &slot in &idle {
            self.slots[slot as usize].state = WorkerState::Busy;
        }
        idle
    }

    /// Frees the slot of an exited worker; returns the state it was in.
    pub fn remove(&mut self, slot: Slot) -> Option<WorkerState> {
        let entry = self.slot(slot)?;
        let state = entry.state;
        entry.state = WorkerState::Gone;
        self.alive -= 1;
        self.idle.retain(|&s| s != slot);
        Some(state)
    }

    pub fn idle_count(&self) -> usize {
        self.idle.len()
    }
}
