//! The worker registry: which worker slots exist, which are idle, and what each one holds.
//!
//! Rules (Python's `_adjust_thread_count`, plus recycling):
//! - no worker before the first submit; a submit wakes an idle worker if there is one, else starts
//!   a new one while fewer than `max_workers` are alive;
//! - a worker that has run `max_tasks` records exits and is replaced on demand;
//! - a slot is reused only after its worker has exited, so slot numbers stay below `max_workers`.

use crate::task::SharedTask;

#[derive(Debug)]
pub(crate) struct Held {
    pub task: SharedTask,
    pub mine: bool,
    /// Items of the record already completed ahead of the rest (`Pool::complete_part`, a `map`
    /// chunk whose items are slow): its next completion starts after them.
    pub reported: u32,
    /// Its `map` run was cancelled while it ran (`Pool::stop`): the worker skips the items it
    /// has not started.
    pub stopped: bool,
}

impl Held {
    pub fn new(task: SharedTask, mine: bool) -> Self {
        Held { task, mine, reported: 0, stopped: false }
    }

    /// The items of the record not completed yet: `(first item, count)`.
    pub fn unreported(&self) -> (u32, u32) {
        (self.task.first_item() + self.reported, self.task.items() - self.reported)
    }
}

/// Index of a worker slot; also the worker's doorbell index on the JavaScript side.
pub type Slot = u32;

/// What the caller must do after a change to the queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Dispatch {
    #[default]
    Nothing,
    /// Ring the doorbell of this parked worker.
    Wake(Slot),
    /// A lingering worker (still spinning in `take`) was given the work: no doorbell needed.
    Claimed(Slot),
    /// Start a worker for this slot.
    Spawn(Slot),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WorkerState {
    Starting,
    Busy,
    /// Idle, still spinning in `take` for a moment: it will see new work by itself.
    Lingering,
    /// Idle and asleep on its doorbell.
    Parked,
    /// Told to exit (recycled or shut down); its exit is expected.
    Exiting,
    Gone,
}

#[derive(Debug)]
pub(crate) struct WorkerSlot {
    pub state: WorkerState,
    /// Records handed out in the last batch, in order, and whether this worker started each:
    /// the first one is started at once; the others stay PENDING (cancellable, and stealable by
    /// an idle worker) until this worker claims them with `Pool::start_next`.
    pub held: Vec<Held>,
    pub records_run: u64,
    /// The function of the last record this worker took: its next cost report is about it.
    pub last_func: Option<u32>,
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
        // A lingering worker costs nothing to claim; a parked one costs a wake-up on both sides.
        let lingering = self.idle.iter().rposition(|&s| self.slots[s as usize].state == WorkerState::Lingering);
        if let Some(i) = lingering.or(self.idle.len().checked_sub(1)) {
            let slot = self.idle.remove(i);
            let entry = &mut self.slots[slot as usize];
            let was = std::mem::replace(&mut entry.state, WorkerState::Busy);
            return if was == WorkerState::Lingering { Dispatch::Claimed(slot) } else { Dispatch::Wake(slot) };
        }
        if self.alive < self.max_workers {
            return Dispatch::Spawn(self.start_slot());
        }
        Dispatch::Nothing
    }

    fn start_slot(&mut self) -> Slot {
        self.alive += 1;
        let fresh = WorkerSlot { state: WorkerState::Starting, held: Vec::new(), records_run: 0, last_func: None };
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

    /// Marks the worker idle (`Lingering` or `Parked`), listed once in `idle`.
    pub fn set_idle(&mut self, slot: Slot, state: WorkerState) {
        debug_assert!(matches!(state, WorkerState::Lingering | WorkerState::Parked));
        if !self.idle.contains(&slot) {
            self.idle.push(slot);
        }
        self.slots[slot as usize].state = state;
    }

    /// Takes the worker off the idle list (it found work, or was woken).
    pub fn set_busy(&mut self, slot: Slot) {
        self.idle.retain(|&s| s != slot);
        self.slots[slot as usize].state = WorkerState::Busy;
    }

    /// Empties the idle list; returns the parked workers, whose doorbells must be rung (lingering
    /// ones see the change by themselves).
    pub fn release_idle(&mut self) -> Vec<Slot> {
        let mut parked = Vec::new();
        for slot in std::mem::take(&mut self.idle) {
            let entry = &mut self.slots[slot as usize];
            if std::mem::replace(&mut entry.state, WorkerState::Busy) == WorkerState::Parked {
                parked.push(slot);
            }
        }
        parked
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

    pub fn lingering_count(&self) -> usize {
        self.idle.iter().filter(|&&s| self.slots[s as usize].state == WorkerState::Lingering).count()
    }

    pub fn idle_count(&self) -> usize {
        self.idle.len()
    }
}
