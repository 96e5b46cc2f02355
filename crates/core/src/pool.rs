//! The pool: one queue of records, the worker registry, the completion queue and the shutdown and
//! broken flags, behind a small API that the binding calls from the main thread and the workers.
//!
//! Locking: `shared` (queue + registry + flags) is one mutex. A take pops a batch *and* parks the
//! worker when nothing is left inside one critical section, and a submit pushes *and* picks the
//! worker to wake inside one, so a wake-up can never be lost between "the queue is empty" and "I
//! am idle". Critical sections are a few pointer moves; batching keeps them rare on the hot path.
//! `table` (id → record, for `cancel` and `state`) is touched by the main thread only.
//! Lock order: `shared` before `table`; the completion queue's lock is never held with another.

use std::collections::VecDeque;

use crate::completion::{Completion, CompletionQueue, Outcome, Status};
use crate::registry::{Dispatch, Held, Registry, Slot, WorkerState};
use crate::scheduler::{batch_size, LINGER};
use crate::timing::{Timing, TimingSummary};
use crate::sync::{lock, AtomicBool, AtomicU64, AtomicUsize, Mutex, Ordering};
use crate::table::RecordTable;
use crate::task::{Payload, SharedTask, State, Task, TaskId};

/// Why a submit was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubmitError {
    Shutdown,
    Broken,
}

/// What a worker gets from [`Pool::take`].
#[derive(Debug, PartialEq, Eq)]
pub enum Take {
    /// Run these records, then report their outcomes in the same order with [`Pool::complete`].
    Work(Vec<Taken>),
    /// Nothing to do: the worker is parked and waits for its doorbell.
    Idle,
    /// Exit now (recycled, shut down or broken).
    Exit,
}

/// A record of a taken batch, read as its [`Payload`]: it shares the task (one allocation per
/// record, none per take).
#[derive(Debug, Clone)]
pub struct Taken(SharedTask);

impl std::ops::Deref for Taken {
    type Target = Payload;

    fn deref(&self) -> &Payload {
        self.0.payload()
    }
}

impl AsRef<Payload> for Taken {
    fn as_ref(&self) -> &Payload {
        self.0.payload()
    }
}

/// Two taken records are equal when they carry equal payloads (as payloads compare).
impl PartialEq for Taken {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Taken {}

/// What happened when a worker's thread ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExitReport {
    /// The worker died holding records: the pool is now broken.
    pub broke: bool,
    /// A replacement to start, when work is still queued.
    pub dispatch: Dispatch,
}

/// The result of [`Pool::worker_exited_replacing`].
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CrashReport {
    /// The worker died before it could take anything (while starting): the pool is now broken.
    pub broke: bool,
    /// The records it was running, which failed with it: `(id, first item, items)`.
    pub crashed: Vec<(TaskId, u32, u32)>,
    /// A replacement to start, when work is still queued.
    pub dispatch: Dispatch,
}

/// The result of [`Pool::shutdown`].
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Records cancelled because of `cancel_futures`.
    pub cancelled: Vec<TaskId>,
    /// Items of `map` jobs cancelled because of `cancel_futures`: `(job, first item, count)`.
    pub cancelled_ranges: Vec<(TaskId, u32, u32)>,
    /// Idle workers whose doorbells must be rung so that they exit.
    pub wake: Vec<Slot>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub workers: usize,
    pub idle: usize,
    pub queued: usize,
    pub running: usize,
    pub completed: u64,
}

/// A `map` job: one JSON array of items, handed out in ranges cut at take time.
#[derive(Debug)]
struct Job {
    id: TaskId,
    /// When it was submitted (its ranges' wait is counted from here).
    queued_at: std::time::Instant,
    func: u32,
    kind: u8,
    text: Vec<u8>,
    /// Byte range of each item within `text`.
    items: Vec<(u32, u32)>,
    /// The first item not yet taken.
    next: usize,
    /// Each range travels in a batch of its own (see [`Pool::submit_batch_alone`]).
    alone: bool,
}

impl Job {
    fn remaining(&self) -> usize {
        self.items.len() - self.next
    }

    /// Cuts items `next..next + count` as one record: `[` + their text + `]`.
    fn cut(&mut self, count: usize) -> Task {
        let first = self.next;
        let (start, _) = self.items[first];
        let (_, end) = self.items[first + count - 1];
        let mut data = Vec::with_capacity((end - start) as usize + 2);
        data.push(b'[');
        data.extend_from_slice(&self.text[start as usize..end as usize]);
        data.push(b']');
        self.next += count;
        let payload = Payload { func: self.func, items: count as u32, kind: self.kind, data, blocks: Vec::new() };
        let mut range = Task::job_range(self.id, first as u32, payload, self.queued_at);
        range.alone = self.alone;
        range
    }
}

#[derive(Debug)]
enum Entry {
    Task(SharedTask),
    /// Boxed: a job is large and rare, and the queue holds one entry per record.
    Job(Box<Job>),
}

#[derive(Debug)]
struct Shared {
    queue: VecDeque<Entry>,
    /// Measured run time per item of each task function (0: not measured yet), so that a batch
    /// is sized for the function it will run, not for whatever the worker ran before.
    item_costs: Vec<u64>,
    workers: Registry,
    shutdown: bool,
    broken: bool,
}

/// Above this capacity, an empty queue or table gives its memory back.
const IDLE_CAPACITY: usize = 1024;

/// `polling_cpu` when the main thread is not polling.
const NO_CPU: usize = usize::MAX;

pub struct Pool {
    shared: Mutex<Shared>,
    /// The last id handed out, and the records in flight (see `table.rs`).
    table: Mutex<(TaskId, RecordTable)>,
    completions: CompletionQueue,
    /// Task functions, registered once by the main thread and fetched by workers on first use.
    /// A std `Arc` even under loom: loom's `Arc` cannot hold a `str`, and this table needs no
    /// model checking.
    functions: Mutex<Vec<std::sync::Arc<str>>>,
    /// Items (not records) waiting and running, and records completed: `stats()` reads these
    /// without taking a lock.
    queued_items: AtomicUsize,
    running_items: AtomicUsize,
    completed_items: AtomicU64,
    /// The core the main thread polls from, while it polls (`NO_CPU` otherwise): a lingering
    /// worker does not spin there (see `cpu.rs`).
    polling_cpu: AtomicUsize,
    /// Times a lingering worker moved itself off `polling_cpu`.
    lingerers_moved: AtomicU64,
    /// Wakes the main thread so it drains the completion queue. Called at most once per drain.
    waker: Box<dyn Fn() + Send + Sync>,
    linger: std::time::Duration,
    /// At most this many workers linger at once, so that spinning never starves the main thread.
    max_lingering: usize,
    /// Whether the executor has work in flight, as it last said (see [`Pool::set_active`]).
    active: AtomicBool,
    /// How long records waited and ran (see `timing.rs`), and the first submission. Measurements
    /// only, not part of the protocol: std's lock and cell even under loom.
    timing: std::sync::Mutex<Timing>,
    first_submit: std::sync::OnceLock<std::time::Instant>,
}

impl Drop for Pool {
    /// A pool's workers have exited and their memory is free: hand it back (see `memory.rs`).
    fn drop(&mut self) {
        self.set_active(false);
        crate::memory::release_free_memory();
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("stats", &self.stats()).finish_non_exhaustive()
    }
}

impl Pool {
    /// `max_tasks`: recycle a worker after that many records (`None`: never).
    pub fn new(max_workers: usize, max_tasks: Option<u64>, waker: Box<dyn Fn() + Send + Sync>) -> Self {
        assert!(max_workers >= 1, "a pool needs at least one worker");
        Pool {
            shared: Mutex::new(Shared {
                queue: VecDeque::new(),
                item_costs: Vec::new(),
                workers: Registry::new(max_workers, max_tasks),
                shutdown: false,
                broken: false,
            }),
            table: Mutex::new((0, RecordTable::default())),
            completions: CompletionQueue::new(),
            functions: Mutex::new(Vec::new()),
            queued_items: AtomicUsize::new(0),
            running_items: AtomicUsize::new(0),
            completed_items: AtomicU64::new(0),
            polling_cpu: AtomicUsize::new(NO_CPU),
            lingerers_moved: AtomicU64::new(0),
            waker,
            linger: LINGER,
            max_lingering: 1,
            active: AtomicBool::new(false),
            timing: std::sync::Mutex::new(Timing::new()),
            first_submit: std::sync::OnceLock::new(),
        }
    }

    /// The executor has work in flight (`true`) or has none left (`false`). While some pool in
    /// the process is active, freed large blocks are kept for reuse, until
    /// [`crate::release_idle_memory`] finds none active (see `memory.rs`).
    pub fn set_active(&self, active: bool) {
        if self.active.swap(active, Ordering::AcqRel) != active {
            crate::memory::pool_active(active);
        }
    }

    /// Sets how long an idle worker looks for work in `take` before it parks (default
    /// [`LINGER`]), and how many workers may linger at once (default 1; a good value is the number
    /// of cores minus one, the main thread's).
    pub fn with_linger(mut self, linger: std::time::Duration, max_lingering: usize) -> Self {
        self.linger = linger;
        self.max_lingering = max_lingering;
        self
    }

    /// Stores a task function's descriptor; returns the index that payloads name it by.
    pub fn register_function(&self, descriptor: &str) -> u32 {
        let mut functions = lock(&self.functions);
        functions.push(std::sync::Arc::from(descriptor));
        (functions.len() - 1) as u32
    }

    /// The descriptor registered under `index`.
    pub fn function(&self, index: u32) -> Option<std::sync::Arc<str>> {
        lock(&self.functions).get(index as usize).cloned()
    }

    /// Queues a record (main thread). Returns its id and what to do to get it run.
    pub fn submit(&self, payload: Payload) -> Result<(TaskId, Dispatch), SubmitError> {
        let (id, dispatches) = self.submit_batch(vec![payload])?;
        Ok((id, dispatches.first().copied().unwrap_or(Dispatch::Nothing)))
    }

    /// Queues several records at once (main thread), in order; their ids are consecutive from
    /// the returned one. Returns what to do for each record that needs a worker (as many
    /// dispatches as there are records, stopping at the first `Nothing`).
    pub fn submit_batch(&self, payloads: Vec<Payload>) -> Result<(TaskId, Vec<Dispatch>), SubmitError> {
        self.submit_records(payloads, false)
    }

    /// As [`Pool::submit_batch`], for records that may be stopped by ending the worker that runs
    /// them (`run`'s `signal` or `timeout`, a `map` with a `signal`): each travels to a worker in
    /// a batch of its own.
    ///
    /// Invariant: a worker's batch that holds such a record holds nothing else, so ending that
    /// worker loses no outcome of another record it ran before (they are reported when a batch
    /// ends) and fails no other record it claimed (see `try_take` and `steal`).
    pub fn submit_batch_alone(&self, payloads: Vec<Payload>) -> Result<(TaskId, Vec<Dispatch>), SubmitError> {
        self.submit_records(payloads, true)
    }

    fn submit_records(&self, payloads: Vec<Payload>, alone: bool) -> Result<(TaskId, Vec<Dispatch>), SubmitError> {
        let mut shared = lock(&self.shared);
        if shared.broken {
            return Err(SubmitError::Broken);
        }
        if shared.shutdown {
            return Err(SubmitError::Shutdown);
        }
        let count = payloads.len();
        self.first_submit.get_or_init(std::time::Instant::now);
        let queued_at = std::time::Instant::now();
        let first = {
            let mut table = lock(&self.table);
            let first = table.0 + 1;
            for payload in payloads {
                table.0 += 1;
                self.queued_items.fetch_add(payload.items as usize, Ordering::Relaxed);
                let mut task = Task::new(table.0, payload, queued_at);
                task.alone = alone;
                let task = SharedTask::new(task);
                table.1.insert(SharedTask::clone(&task));
                shared.queue.push_back(Entry::Task(task));
            }
            first
        };
        let dispatches = (0..count).map_while(|_| Some(shared.workers.dispatch()).filter(|d| *d != Dispatch::Nothing));
        Ok((first, dispatches.collect()))
    }

    /// Queues a `map` job (main thread): `text` is a JSON array of items, which workers take in
    /// ranges sized by [`batch_size`]. Returns `None` when `text` is not a JSON array. Each range
    /// completes as its own [`Completion`] with the job's id and the range's first item.
    pub fn submit_job(&self, func: u32, kind: u8, text: Vec<u8>) -> Option<Result<(TaskId, Vec<Dispatch>), SubmitError>> {
        self.submit_job_with(func, kind, text, false)
    }

    /// As [`Pool::submit_job`]; `alone`: each range travels in a batch of its own (see
    /// [`Pool::submit_batch_alone`]).
    pub fn submit_job_with(&self, func: u32, kind: u8, text: Vec<u8>, alone: bool) -> Option<Result<(TaskId, Vec<Dispatch>), SubmitError>> {
        let items = crate::json::split_array(&text)?;
        self.first_submit.get_or_init(std::time::Instant::now);
        let mut shared = lock(&self.shared);
        if shared.broken {
            return Some(Err(SubmitError::Broken));
        }
        if shared.shutdown {
            return Some(Err(SubmitError::Shutdown));
        }
        let id = {
            let mut table = lock(&self.table);
            table.0 += 1;
            table.0
        };
        let count = items.len();
        if count == 0 {
            return Some(Ok((id, Vec::new())));
        }
        self.queued_items.fetch_add(count, Ordering::Relaxed);
        shared.queue.push_back(Entry::Job(Box::new(Job { id, queued_at: std::time::Instant::now(), func, kind, text, items, next: 0, alone })));
        // As submitting `count` records would: wake or start a worker per item, up to the limit.
        let dispatches = (0..count).map_while(|_| Some(shared.workers.dispatch()).filter(|d| *d != Dispatch::Nothing));
        Some(Ok((id, dispatches.collect())))
    }

    /// Sets the measured run time per item of task function `func` (0: not measured), as a
    /// worker's `take` reports it: for tests, and for a caller that measures elsewhere.
    pub fn measure(&self, func: u32, item_cost_ns: u64) {
        let mut shared = lock(&self.shared);
        let index = func as usize;
        if shared.item_costs.len() <= index {
            shared.item_costs.resize(index + 1, 0);
        }
        shared.item_costs[index] = item_cost_ns;
    }

    /// Chunk lengths for `total` items of task function `func` that must be cut before
    /// submission (values that do not travel as JSON): guided self-scheduling over this pool's
    /// workers, at `func`'s measured cost. Not measured yet: one item per chunk, which workers
    /// then take in batches sized by the cost they measure (see [`batch_size`]).
    pub fn plan_chunks(&self, total: usize, func: u32) -> Vec<usize> {
        let shared = lock(&self.shared);
        let cost = shared.item_costs.get(func as usize).copied().unwrap_or(0);
        crate::scheduler::ChunkPlanner::new(shared.workers.max_workers).plan(total, cost)
    }

    /// Cancels the items of job `id` that no worker has taken yet; returns how many.
    pub fn cancel_job(&self, id: TaskId) -> usize {
        let mut shared = lock(&self.shared);
        let Some(index) = shared.queue.iter().position(|e| matches!(e, Entry::Job(job) if job.id == id)) else {
            return 0;
        };
        let Some(Entry::Job(job)) = shared.queue.remove(index) else { unreachable!() };
        self.queued_items.fetch_sub(job.remaining(), Ordering::Relaxed);
        job.remaining()
    }

    /// Python's `Future.cancel()` for a submitted record (main thread).
    pub fn cancel(&self, id: TaskId) -> bool {
        let mut table = lock(&self.table);
        let Some(task) = table.1.get(id) else { return false };
        if task.state() == State::Cancelled {
            return true;
        }
        if !task.try_cancel() {
            return false;
        }
        self.queued_items.fetch_sub(task_items(task), Ordering::Relaxed);
        table.1.remove(id);
        true
    }

    /// The state of a record that the main thread has not yet settled (`None` once settled).
    pub fn state(&self, id: TaskId) -> Option<State> {
        lock(&self.table).1.get(id).map(|task| task.state())
    }

    /// A worker asks for work. `item_cost_ns` is the measured mean time per item of its last
    /// batch (0 if none); the pool keeps it per task function and sizes batches with it.
    ///
    /// With nothing queued, the worker is listed idle but lingers here, polling the queue length,
    /// for up to the pool's linger time; a submit in that window claims it without a doorbell.
    /// Then it parks and gets [`Take::Idle`]: it must sleep until its doorbell rings.
    pub fn take(&self, slot: Slot, item_cost_ns: u64) -> Take {
        let mut deadline = None;
        loop {
            match self.try_take(slot, item_cost_ns, &mut deadline, true) {
                Some(take) => return take,
                None => self.linger_until(deadline.expect("set when lingering")),
            }
        }
    }

    /// As [`Pool::take`], but parks at once instead of lingering: for a caller that must not
    /// block, such as the main thread taking work on behalf of a child process.
    pub fn take_now(&self, slot: Slot, item_cost_ns: u64) -> Take {
        self.try_take(slot, item_cost_ns, &mut None, false).expect("never lingers")
    }

    /// One look at the queue under the lock; `None` means "linger and look again".
    fn try_take(
        &self,
        slot: Slot,
        item_cost_ns: u64,
        deadline: &mut Option<std::time::Instant>,
        may_linger: bool,
    ) -> Option<Take> {
        let mut shared = lock(&self.shared);
        let Shared { queue, item_costs, workers, shutdown, broken } = &mut *shared;
        if *broken || workers.slot(slot).is_none() {
            return Some(Take::Exit);
        }
        if let (Some(func), true) = (workers.slot(slot).and_then(|s| s.last_func.take()), item_cost_ns > 0) {
            let index = func as usize;
            if item_costs.len() <= index {
                item_costs.resize(index + 1, 0);
            }
            item_costs[index] = item_cost_ns;
        }
        let quota = workers.quota(slot);
        let queued = self.queued_items.load(Ordering::Relaxed);
        let front_func = match queue.front() {
            Some(Entry::Task(task)) => task.func(),
            Some(Entry::Job(job)) => job.func,
            None => 0,
        };
        // A function not measured yet (0) goes one item at a time until it is: the worker's
        // figure for another function says nothing of this one's, and a guess that is too small
        // would hand a slow function's items out in bunches (measure before grouping).
        let cost = item_costs.get(front_func as usize).copied().unwrap_or(0);
        let want = batch_size(cost, queued, workers.alive);
        let mut batch = Vec::new();
        let mut taken: Vec<Held> = Vec::new();
        let mut taken_items = 0;
        while taken_items < want && (taken.len() as u64) < quota {
            // A record that travels alone ends the batch before it, or is the whole batch.
            let alone = match queue.front() {
                None => break,
                Some(Entry::Task(task)) => task.alone(),
                Some(Entry::Job(job)) => job.alone,
            };
            if alone && !taken.is_empty() {
                break;
            }
            let (task, mine) = match queue.front_mut() {
                None => break,
                Some(Entry::Job(job)) => {
                    let range = job.cut((want - taken_items).min(job.remaining()));
                    if job.remaining() == 0 {
                        queue.pop_front();
                    }
                    (SharedTask::new(range), true)
                }
                Some(Entry::Task(_)) => {
                    let Some(Entry::Task(task)) = queue.pop_front() else { unreachable!() };
                    // The first record starts now; with `may_linger` (a worker thread, which
                    // claims each record with `start_next`) the others are only reserved.
                    let started = if taken.is_empty() || !may_linger {
                        task.try_start()
                    } else {
                        task.state() == State::Pending
                    };
                    if !started {
                        continue;
                    }
                    let mine = taken.is_empty() || !may_linger;
                    (task, mine)
                }
            };
            let items = task.items() as usize;
            if mine {
                self.queued_items.fetch_sub(items, Ordering::Relaxed);
                self.running_items.fetch_add(items, Ordering::Relaxed);
            }
            taken_items += items;
            batch.push(Taken(SharedTask::clone(&task)));
            taken.push(Held::new(task, mine));
            if alone {
                break;
            }
        }
        if taken.is_empty() && may_linger {
            taken = steal(&mut workers.slots, slot, want, quota);
            for held in &taken {
                let items = held.task.items() as usize;
                self.queued_items.fetch_sub(items, Ordering::Relaxed);
                self.running_items.fetch_add(items, Ordering::Relaxed);
                batch.push(Taken(SharedTask::clone(&held.task)));
            }
        }
        if !taken.is_empty() {
            workers.set_busy(slot);
            let entry = workers.slot(slot).expect("checked above");
            entry.last_func = Some(taken[taken.len() - 1].task.func());
            entry.held = taken;
            return Some(Take::Work(batch));
        }
        if queue.capacity() > IDLE_CAPACITY {
            queue.shrink_to(0);
        }
        if *shutdown || quota == 0 {
            workers.set_busy(slot);
            workers.slot(slot).expect("checked above").state = WorkerState::Exiting;
            return Some(Take::Exit);
        }
        let lingering_now = workers.slot(slot).is_some_and(|s| s.state == WorkerState::Lingering);
        let may_linger = may_linger && (lingering_now || workers.lingering_count() < self.max_lingering);
        let now_lingering = match *deadline {
            _ if !may_linger => false,
            None if !self.linger.is_zero() => {
                *deadline = Some(std::time::Instant::now() + self.linger);
                true
            }
            Some(until) => std::time::Instant::now() < until,
            None => false,
        };
        if now_lingering {
            workers.set_idle(slot, WorkerState::Lingering);
            return None;
        }
        workers.set_idle(slot, WorkerState::Parked);
        Some(Take::Idle)
    }

    /// Spins (yielding the core) until something is queued or the deadline passes.
    fn linger_until(&self, deadline: std::time::Instant) {
        let backoff = crossbeam_utils::Backoff::new();
        let mut tried_moving = false;
        while self.queued_items.load(Ordering::Relaxed) == 0 && std::time::Instant::now() < deadline {
            let main = self.polling_cpu.load(Ordering::Relaxed);
            if !tried_moving && main != NO_CPU && crate::cpu::current() == Some(main) {
                // Once per linger: where moving is not allowed, the calls fail every time.
                tried_moving = true;
                if crate::cpu::move_off(main) {
                    self.lingerers_moved.fetch_add(1, Ordering::Relaxed);
                }
            }
            if backoff.is_completed() {
                crate::sync::yield_now();
            } else {
                backoff.snooze();
            }
        }
    }

    /// A worker is about to run record `index` of its batch: `true` if it may (the record is
    /// started now), `false` if it was cancelled or stolen meanwhile (report it as skipped).
    pub fn start_next(&self, slot: Slot, index: usize) -> bool {
        let mut shared = lock(&self.shared);
        let Some(held) = shared.workers.slot(slot).and_then(|s| s.held.get_mut(index)) else { return false };
        if held.mine {
            return true;
        }
        if !held.task.try_start() {
            return false;
        }
        held.mine = true;
        let items = held.task.items() as usize;
        self.queued_items.fetch_sub(items, Ordering::Relaxed);
        self.running_items.fetch_add(items, Ordering::Relaxed);
        true
    }

    /// A worker reports the outcomes of its last batch, in the order it was handed out.
    pub fn complete<O: Into<Outcome>>(&self, slot: Slot, outcomes: Vec<O>) {
        let held = {
            let mut shared = lock(&self.shared);
            let Some(entry) = shared.workers.slot(slot) else { return };
            // A broken pool has already failed these records (and emptied `held`); their late
            // outcomes are dropped.
            if entry.held.len() < outcomes.len() {
                entry.held.clear();
                return;
            }
            // Fewer outcomes than records: a worker that is ending in the middle of a batch (a
            // task called `process.exit`) reports the records before that one; the rest stay
            // held, so that its exit fails them.
            let mut rest = entry.held.split_off(outcomes.len());
            let partial = !rest.is_empty();
            // The first record without an outcome is the one it died running; those after it it
            // never began, though a child is handed its whole batch as started: they go back to
            // the queue with the reserved ones when its exit is handled.
            for held in rest.iter_mut().skip(1).filter(|h| h.mine && h.reported == 0) {
                if held.task.unstart() {
                    held.mine = false;
                    let items = held.task.items() as usize;
                    self.running_items.fetch_sub(items, Ordering::Relaxed);
                    self.queued_items.fetch_add(items, Ordering::Relaxed);
                }
            }
            let held = std::mem::replace(&mut entry.held, rest);
            entry.records_run += held.iter().filter(|h| h.mine).count() as u64;
            // Unless it is ending (`partial`), the worker's next call is `take`. Listing it
            // lingering now, before its outcomes can reach the main thread, lets a submit that
            // follows them claim this worker; listed busy, that submit would wake another worker
            // (a futex wake, and a third thread competing for the cores) for a record this
            // worker then takes anyway.
            let workers = &mut shared.workers;
            if !partial && workers.quota(slot) > 0 && workers.lingering_count() < self.max_lingering && !self.linger.is_zero() {
                workers.set_idle(slot, WorkerState::Lingering);
            }
            held
        };
        self.record_timing(&held);
        // Records this worker did not start (cancelled, or stolen by another) have no outcome
        // here; nor have records whose every item was completed ahead (`complete_part`).
        let batch = held.into_iter().zip(outcomes).filter(|(held, _)| held.mine).filter_map(|(held, outcome)| {
            let (first_item, items) = held.unreported();
            held.task.finish();
            let Outcome { kind, data, blocks } = outcome.into();
            // Items a stopped chunk never ran end without counting as completed.
            let status = if kind == crate::frames::KIND_SKIPPED { Status::Skipped } else { Status::Done };
            if status == Status::Skipped {
                self.running_items.fetch_sub(items as usize, Ordering::Relaxed);
            } else {
                self.count_completed(items);
            }
            (items > 0).then(|| Completion { id: held.task.id(), first_item, items, status, kind, data, blocks })
        });
        let batch: Vec<_> = batch.collect();
        if !batch.is_empty() && self.completions.push(batch) {
            (self.waker)();
        }
    }

    /// Times the records of a batch a worker completed: each ran from its start to the start of
    /// the next one it ran, the last to now.
    fn record_timing(&self, held: &[Held]) {
        let now = std::time::Instant::now();
        let mut timing = self.timing.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut ran = held.iter().filter(|h| h.mine).filter_map(|h| Some((&h.task, h.task.started_at()?))).peekable();
        while let Some((task, started)) = ran.next() {
            let end = ran.peek().map_or(now, |&(_, next)| next);
            timing.record(task.items(), started.saturating_duration_since(task.queued_at()), end.saturating_duration_since(started));
        }
    }

    /// How long records waited and ran so far, and how busy the workers were (see `timing.rs`).
    pub fn timing(&self) -> TimingSummary {
        let max_workers = lock(&self.shared).workers.max_workers;
        let timing = self.timing.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        timing.summary(max_workers, self.first_submit.get().copied(), std::time::Instant::now())
    }

    /// A worker hands over, ahead of the rest of its batch, the outcome of the next `count` items
    /// of record `index` of it (a `map` chunk whose items are slow, so that a finished item does
    /// not wait for its neighbours): they complete now, as a completion of their own, and the
    /// record's later completions cover only the items after them. Ignored when the record is
    /// not this worker's to complete, or has fewer items left.
    ///
    /// Invariant: a record's completions cover its items in order, each item once: the worker
    /// walks a chunk in order, and `reported` (under the lock, like `held`) moves only forward.
    pub fn complete_part<O: Into<Outcome>>(&self, slot: Slot, index: usize, count: u32, outcome: O) {
        let completion = {
            let mut shared = lock(&self.shared);
            let Some(held) = shared.workers.slot(slot).and_then(|s| s.held.get_mut(index)) else { return };
            let (first_item, left) = held.unreported();
            if !held.mine || count == 0 || count > left {
                return;
            }
            held.reported += count;
            let Outcome { kind, data, blocks } = outcome.into();
            Completion { id: held.task.id(), first_item, items: count, status: Status::Done, kind, data, blocks }
        };
        self.count_completed(count);
        if self.completions.push(vec![completion]) {
            (self.waker)();
        }
    }

    fn count_completed(&self, items: u32) {
        self.running_items.fetch_sub(items as usize, Ordering::Relaxed);
        self.completed_items.fetch_add(u64::from(items), Ordering::Relaxed);
    }

    /// Stops record or job `id` (a cancelled `map` run's) where workers are running it: each
    /// worker skips the items of it that it has not started, once it sees the stop
    /// ([`Pool::stopped`]); what they ran completes as usual. Answers the slots of those workers,
    /// for the host to interrupt. Items not taken yet are not touched: `cancel` and `cancel_job`
    /// do that.
    ///
    /// Invariant: the flag is set, under the lock, before the caller interrupts the worker, and
    /// the worker clears its interrupt before it asks `stopped` (under the lock): so a stop is
    /// never lost, at worst seen twice.
    pub fn stop(&self, id: TaskId) -> Vec<Slot> {
        let mut shared = lock(&self.shared);
        let mut slots = Vec::new();
        for (slot, entry) in shared.workers.slots.iter_mut().enumerate() {
            let mut found = false;
            for held in entry.held.iter_mut().filter(|h| h.mine && !h.stopped && h.task.id() == id) {
                held.stopped = true;
                found = true;
            }
            if found {
                slots.push(slot as Slot);
            }
        }
        slots
    }

    /// As [`Pool::stop`], for one task whose run was aborted (`run`'s `signal` or `timeout`):
    /// answers each worker running it and the record's index in that worker's batch, so that the
    /// host can tell the task's own signal why.
    pub fn stop_task(&self, id: TaskId) -> Vec<(Slot, u32)> {
        let mut shared = lock(&self.shared);
        let mut found = Vec::new();
        for (slot, entry) in shared.workers.slots.iter_mut().enumerate() {
            for (index, held) in entry.held.iter_mut().enumerate().filter(|(_, h)| h.mine && h.task.id() == id) {
                held.stopped = true;
                found.push((slot as Slot, index as u32));
            }
        }
        found
    }

    /// How long record `id` has been running, if it is.
    pub fn running_for(&self, id: TaskId) -> Option<std::time::Duration> {
        let table = lock(&self.table);
        let task = table.1.get(id)?;
        if task.state() != State::Running {
            return None;
        }
        Some(task.started_at()?.elapsed())
    }

    /// The records of `slot`'s current batch that were stopped (see [`Pool::stop`]), by index.
    pub fn stopped(&self, slot: Slot) -> Vec<u32> {
        let mut shared = lock(&self.shared);
        let Some(entry) = shared.workers.slot(slot) else { return Vec::new() };
        entry.held.iter().enumerate().filter(|(_, h)| h.stopped).map(|(i, _)| i as u32).collect()
    }

    /// Takes every completion so far (main thread, when woken).
    pub fn drain_completions(&self) -> Vec<Completion> {
        self.polling_cpu.store(NO_CPU, Ordering::Relaxed);
        self.forget(self.completions.drain())
    }

    /// As [`Pool::drain_completions`], for a main thread that is polling: until its next
    /// `drain_completions`, completing workers do not wake it. Polling must end with a
    /// `drain_completions`, or outcomes pushed after the last poll wait for a wake-up that never comes.
    ///
    /// An empty poll yields the core: a polling main thread is spinning, and when the worker
    /// that will complete shares its core (the scheduler often places a woken thread beside its
    /// waker), spinning on would keep that worker off the core for the rest of the time slice.
    pub fn poll_completions(&self) -> Vec<Completion> {
        self.polling_cpu.store(crate::cpu::current().unwrap_or(NO_CPU), Ordering::Relaxed);
        let done = self.completions.poll();
        if done.is_empty() {
            crate::sync::yield_now();
        }
        self.forget(done)
    }

    /// Drops the cancel-table entries of records that completed.
    fn forget(&self, done: Vec<Completion>) -> Vec<Completion> {
        if !done.is_empty() {
            let mut table = lock(&self.table);
            for completion in &done {
                table.1.remove(completion.id);
            }
            // A burst of records leaves a large table behind; give the memory back when idle.
            if table.1.shrink_if_large(IDLE_CAPACITY) {
                drop(table);
                crate::memory::release_free_memory_soon();
            }
        }
        done
    }

    /// The worker of `slot` has exited (main thread, from the worker's `exit` event).
    pub fn worker_exited(&self, slot: Slot) -> ExitReport {
        let mut shared = lock(&self.shared);
        let held = shared.workers.slot(slot).map_or(0, |s| s.held.iter().filter(|h| h.mine).count());
        // Records it reserved and never started go back to the queue, in order.
        if let Some(entry) = shared.workers.slot(slot) {
            let (mine, reserved): (Vec<_>, Vec<_>) = entry.held.drain(..).partition(|h| h.mine);
            entry.held = mine;
            for held in reserved.into_iter().rev().filter(|h| h.task.state() == State::Pending) {
                shared.queue.push_front(Entry::Task(held.task));
            }
        }
        let Some(state) = shared.workers.remove(slot) else {
            return ExitReport { broke: false, dispatch: Dispatch::Nothing };
        };
        let died = held > 0 || state == WorkerState::Starting;
        if died && !shared.broken {
            self.break_locked(&mut shared, true);
            return ExitReport { broke: true, dispatch: Dispatch::Nothing };
        }
        let work_left = !shared.broken && self.queued_items.load(Ordering::Relaxed) > 0;
        let dispatch = if work_left && shared.workers.idle_count() == 0 {
            shared.workers.dispatch()
        } else {
            Dispatch::Nothing
        };
        ExitReport { broke: false, dispatch }
    }

    /// The worker of `slot` has exited, in a pool that replaces crashed workers
    /// (`replaceCrashedWorkers`): the records it was running fail alone (answered, for the caller
    /// to fail with the crash; they are FINISHED here), those it reserved go back to the queue,
    /// and a replacement starts when work is left. A worker that died while starting breaks the
    /// pool still: its replacement would die the same way.
    pub fn worker_exited_replacing(&self, slot: Slot) -> CrashReport {
        let mut shared = lock(&self.shared);
        let mut crashed = Vec::new();
        if let Some(entry) = shared.workers.slot(slot) {
            let (mine, reserved): (Vec<_>, Vec<_>) = entry.held.drain(..).partition(|h| h.mine);
            for held in mine {
                // Items completed ahead of the rest (`complete_part`) have their outcomes already.
                let (first_item, items) = held.unreported();
                held.task.finish();
                self.running_items.fetch_sub(items as usize, Ordering::Relaxed);
                if items > 0 {
                    crashed.push((held.task.id(), first_item, items));
                }
            }
            for held in reserved.into_iter().rev().filter(|h| h.task.state() == State::Pending) {
                shared.queue.push_front(Entry::Task(held.task));
            }
        }
        let Some(state) = shared.workers.remove(slot) else {
            return CrashReport::default();
        };
        if state == WorkerState::Starting && crashed.is_empty() && !shared.broken {
            self.break_locked(&mut shared, true);
            return CrashReport { broke: true, ..CrashReport::default() };
        }
        let work_left = !shared.broken && self.queued_items.load(Ordering::Relaxed) > 0;
        let dispatch = if work_left && shared.workers.idle_count() == 0 { shared.workers.dispatch() } else { Dispatch::Nothing };
        CrashReport { broke: false, crashed, dispatch }
    }

    /// Breaks the pool: every queued record fails with `Status::Broken` and later submits are
    /// refused. Idempotent.
    ///
    /// `fail_running`: the running records fail too, and the caller ends the workers; whatever
    /// they report afterwards is dropped (a worker died, as a process pool's child does).
    /// Otherwise (a thread's initializer failed: Python fails only the pending work) running
    /// records finish and report as usual, and their workers exit at their next `take`.
    pub fn break_pool(&self, fail_running: bool) {
        let mut shared = lock(&self.shared);
        if !shared.broken {
            self.break_locked(&mut shared, fail_running);
        }
    }

    fn break_locked(&self, shared: &mut Shared, fail_running: bool) {
        shared.broken = true;
        let mut failed = Vec::new();
        for entry in shared.workers.slots.iter_mut() {
            if !fail_running {
                // `held` stays whole, so that `complete` matches the outcomes to it; the
                // records reserved and not started fail here, and their claim (`start_next`) fails.
                for Held { task, .. } in entry.held.iter().filter(|h| !h.mine) {
                    if task.try_start() {
                        task.finish();
                        self.queued_items.fetch_sub(task_items(task), Ordering::Relaxed);
                        failed.push((task.id(), task.first_item(), task.items()));
                    }
                }
                continue;
            }
            for held in entry.held.drain(..) {
                // Items completed ahead of the rest (`complete_part`) have their outcomes already.
                let (first_item, items) = held.unreported();
                let task = held.task;
                if held.mine {
                    task.finish();
                    self.running_items.fetch_sub(items as usize, Ordering::Relaxed);
                } else if task.try_start() {
                    task.finish();
                    self.queued_items.fetch_sub(items as usize, Ordering::Relaxed);
                } else {
                    continue; // cancelled, or stolen by a worker that holds it as its own
                }
                failed.push((task.id(), first_item, items));
            }
        }
        for entry in shared.queue.drain(..) {
            match entry {
                Entry::Task(task) if task.try_start() => {
                    task.finish();
                    self.queued_items.fetch_sub(task_items(&task), Ordering::Relaxed);
                    failed.push((task.id(), 0, task.items()));
                }
                Entry::Task(_) => {}
                Entry::Job(job) => {
                    self.queued_items.fetch_sub(job.remaining(), Ordering::Relaxed);
                    failed.push((job.id, job.next as u32, job.remaining() as u32));
                }
            }
        }
        let broken = failed.into_iter().map(|(id, first_item, items)| Completion {
            id,
            first_item,
            items,
            status: Status::Broken,
            kind: 0,
            data: Vec::new(),
            blocks: Vec::new(),
        });
        if self.completions.push(broken.collect::<Vec<_>>()) {
            (self.waker)();
        }
        shared.workers.idle.clear();
    }

    /// Marks the pool shut down. With `cancel_futures`, every queued record is cancelled.
    pub fn shutdown(&self, cancel_futures: bool) -> ShutdownReport {
        let mut shared = lock(&self.shared);
        shared.shutdown = true;
        let mut cancelled = Vec::new();
        let mut cancelled_ranges = Vec::new();
        if cancel_futures {
            for entry in shared.queue.drain(..) {
                match entry {
                    Entry::Task(task) => {
                        if task.state() == State::Pending && task.try_cancel() {
                            self.queued_items.fetch_sub(task_items(&task), Ordering::Relaxed);
                            cancelled.push(task.id());
                        }
                    }
                    Entry::Job(job) => {
                        self.queued_items.fetch_sub(job.remaining(), Ordering::Relaxed);
                        cancelled_ranges.push((job.id, job.next as u32, job.remaining() as u32));
                    }
                }
            }
            for entry in shared.workers.slots.iter() {
                for held in entry.held.iter().filter(|h| !h.mine) {
                    if held.task.state() == State::Pending && held.task.try_cancel() {
                        self.queued_items.fetch_sub(task_items(&held.task), Ordering::Relaxed);
                        cancelled.push(held.task.id());
                    }
                }
            }
            let mut table = lock(&self.table);
            for &id in &cancelled {
                table.1.remove(id);
            }
        }
        ShutdownReport { cancelled, cancelled_ranges, wake: shared.workers.release_idle() }
    }

    pub fn is_broken(&self) -> bool {
        lock(&self.shared).broken
    }

    /// How many times a lingering worker found itself on the core the main thread polls from
    /// and moved off it (see `cpu.rs`).
    pub fn lingerers_moved(&self) -> u64 {
        self.lingerers_moved.load(Ordering::Relaxed)
    }

    pub fn stats(&self) -> Stats {
        let (workers, idle) = {
            let shared = lock(&self.shared);
            (shared.workers.alive, shared.workers.idle_count())
        };
        Stats {
            workers,
            idle,
            queued: self.queued_items.load(Ordering::Relaxed),
            running: self.running_items.load(Ordering::Relaxed),
            completed: self.completed_items.load(Ordering::Relaxed),
        }
    }
}

/// An idle worker takes, from the batches of the others, records they reserved and have not
/// started (they wait behind a slow record): up to `want` items and at most `quota` records
/// (what the thief may still run before it is recycled, as in `take`), started now, as its own.
fn steal(slots: &mut [crate::registry::WorkerSlot], thief: Slot, want: usize, quota: u64) -> Vec<Held> {
    let mut stolen = Vec::new();
    let mut items = 0;
    for (index, entry) in slots.iter_mut().enumerate() {
        if index as Slot == thief {
            continue;
        }
        // From the end: the victim is about to reach the first ones itself.
        for held in entry.held.iter().rev().filter(|h| !h.mine) {
            if items >= want || stolen.len() as u64 >= quota {
                stolen.reverse();
                return stolen;
            }
            // Never reserved (it is the whole of its batch, started when taken); kept alone anyway.
            if held.task.alone() {
                if !stolen.is_empty() {
                    stolen.reverse();
                    return stolen;
                }
                if held.task.try_start() {
                    return vec![Held::new(SharedTask::clone(&held.task), true)];
                }
                continue;
            }
            if held.task.try_start() {
                items += task_items(&held.task);
                stolen.push(Held::new(SharedTask::clone(&held.task), true));
            }
        }
    }
    stolen.reverse();
    stolen
}

fn task_items(task: &Task) -> usize {
    task.items() as usize
}
