//! Node-API binding of `concurrent-futures-core`: converts arguments and results, owns no policy.
//!
//! One `NativePool` object lives on the main thread; each worker thread attaches to the same
//! [`Pool`] by its numeric id through a process-wide registry (Rust statics are shared by every
//! env of the process, while each worker has its own JS objects). The main thread is woken through
//! one [`MainWake`] per pool, at most once per drain (see `CompletionQueue`).
//!
//! Wire formats (little-endian), read and written by `src/native.ts`:
//! - `submitBatch` ← frames of `[func u32][items u32][kind u8][len u32][data]`; a frame whose
//!   kind has `FRAME_BLOCKS` set starts its data with a count `n`, and takes the next `n` blocks
//!   this thread stashed (`stashBlock`) as the record's blocks
//! - `take` → the same frames, written into the caller's reused buffer when they fit (as
//!   `drain`'s); their blocks, in order, come from `takeBlocks` (the answer has `HAS_BLOCKS` set
//!   when there are any and the frames are in the inbox)
//! - `complete` ← frames of `[kind u8][len u32][data]`, one per record taken, in order, with
//!   blocks as `submitBatch`'s
//! - `drain` → frames of `[id f64][first item u32][items u32][status u8][kind u8][len u32][data]`,
//!   with blocks as `take`'s

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock, Weak};

mod main_wake;
use main_wake::MainWake;

use concurrent_futures_core::{Completion, Dispatch, Outcome, Payload, Pool, SubmitError, Take};
use napi::bindgen_prelude::*;
use napi_derive::napi;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[global_allocator]
static ALLOCATOR: concurrent_futures_core::LargeBlocksMapped = concurrent_futures_core::LargeBlocksMapped;

/// Pools by id, so that worker threads can attach. Weak: the main thread's object owns the pool.
fn registry() -> &'static Mutex<HashMap<u32, Weak<Pool>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<u32, Weak<Pool>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// Submits answer `[first id * 65536, ...codes]`: code 0 is nothing to do, `1 + slot` wakes that
/// worker and `32768 + slot` starts one.
const DISPATCH_SPAWN: u32 = 32768;
const SUBMIT_SHUTDOWN: i64 = -1;
const SUBMIT_BROKEN: i64 = -2;
const SUBMIT_NOT_AN_ARRAY: i64 = -3;
const TAKE_IDLE: i32 = -1;
const TAKE_EXIT: i32 = -2;
/// A frame's kind bit: its data starts with a count of stashed blocks it owns.
const FRAME_BLOCKS: u8 = 0x80;
/// Set in the answer of `take` and `drain` when the frames they wrote into the inbox have blocks.
const HAS_BLOCKS: i32 = 1 << 30;

thread_local! {
    /// Blocks this thread copied out of the values it encoded (`stashBlock`), by the writer that
    /// encoded them and in order, until its next `submitBatch` or `complete` hands them to the
    /// frames that count them. By writer: several executors batch submits on one thread.
    static STASHED: RefCell<HashMap<u32, VecDeque<Vec<u8>>>> = RefCell::new(HashMap::new());
    /// The blocks of the frames this thread last received (`take` or `drain`), until `takeBlocks`.
    static RECEIVED: RefCell<Received> = const { RefCell::new(Received::Nothing) };
}

/// The blocks of the frames of one `take` or `drain`, in frame order.
enum Received {
    Nothing,
    /// A batch's records, whose blocks stay the pool's until the records complete.
    Records(Vec<Arc<Payload>>),
    Outcomes(Vec<Vec<u8>>),
}

impl Received {
    fn has_blocks(&self) -> bool {
        match self {
            Received::Nothing => false,
            Received::Records(batch) => batch.iter().any(|p| !p.blocks.is_empty()),
            Received::Outcomes(blocks) => !blocks.is_empty(),
        }
    }
}

/// Keeps `received` as this thread's last received blocks; answers `written` with `HAS_BLOCKS`
/// set when there are any.
fn receive(written: Either<i32, BufferSlice<'_>>, received: Received) -> Either<i32, BufferSlice<'_>> {
    let has_blocks = received.has_blocks();
    RECEIVED.with_borrow_mut(|last| *last = if has_blocks { received } else { Received::Nothing });
    match written {
        Either::A(size) if has_blocks => Either::A(size | HAS_BLOCKS),
        other => other,
    }
}

/// Copies `bytes` (a large array a value holds) into a block of its own, which the next
/// `submitBatch` or `complete` of frames `writer` wrote on this thread attaches to the frame that
/// counts it; the receiving thread gets it from `takeBlocks`. Copied now, as a clone is taken when
/// the value is sent: the array may change before its frame is handed over (the other tasks of a
/// worker's batch run first).
#[napi]
pub fn stash_block(writer: u32, bytes: &[u8]) {
    STASHED.with_borrow_mut(|stashed| stashed.entry(writer).or_default().push_back(bytes.to_vec()));
}

/// The blocks `writer` stashed on this thread, for its frames (see `stashBlock`). Every block
/// belongs to one of those frames; a block none counts is dropped, so that it cannot be taken for
/// a later frame's.
fn stashed_blocks(writer: u32) -> VecDeque<Vec<u8>> {
    STASHED.with_borrow_mut(|stashed| stashed.remove(&writer)).unwrap_or_default()
}

/// The blocks of the frames this thread last received (`take` or `drain`), in frame order, each
/// copied into a `Buffer` of its own (Node's allocator, not zero-filled first), whose whole
/// `ArrayBuffer` the decoded view takes, as a clone's would. Handing the blocks themselves over
/// (external buffers) would spare that copy but leave them to the garbage collector: freed late,
/// they could not be reused from the core's cache, and each new block cost fresh pages (a 1 MB
/// echo, 4 in flight: 700-800 µs a task that way, 210-380 with the copy). Copied blocks go back
/// to the cache as soon as their record or outcome is done.
#[napi]
pub fn take_blocks(env: &Env) -> Result<Vec<BufferSlice<'_>>> {
    match RECEIVED.with_borrow_mut(|last| std::mem::replace(last, Received::Nothing)) {
        Received::Nothing => Ok(Vec::new()),
        Received::Records(batch) => batch.iter().flat_map(|p| &p.blocks).map(|block| BufferSlice::copy_from(env, block)).collect(),
        Received::Outcomes(blocks) => blocks.into_iter().map(|block| BufferSlice::copy_from(env, block)).collect(),
    }
}

/// The blocks of a frame of this `kind` and `data`: with `FRAME_BLOCKS`, the next ones of
/// `stashed`, as many as the first byte of `data` counts.
fn frame_blocks(stashed: &mut VecDeque<Vec<u8>>, kind: u8, data: &[u8]) -> Result<Vec<Vec<u8>>> {
    if kind & FRAME_BLOCKS == 0 {
        return Ok(Vec::new());
    }
    let count = *data.first().ok_or_else(|| Error::new(Status::InvalidArg, "frame without its block count"))? as usize;
    if stashed.len() < count {
        return Err(Error::new(Status::InvalidArg, "frame counts blocks that were not stashed"));
    }
    Ok(stashed.drain(..count).collect())
}

/// The first `length` bytes of `frames`: callers pass the whole buffer they write frames into.
fn prefix(frames: &[u8], length: u32) -> Result<&[u8]> {
    frames.get(..length as usize).ok_or_else(|| Error::new(Status::InvalidArg, "frame length beyond the buffer"))
}

/// Writes frames in place.
struct FrameCursor<'a> {
    bytes: &'a mut [u8],
    at: usize,
}

impl FrameCursor<'_> {
    fn put(&mut self, data: &[u8]) {
        self.bytes[self.at..self.at + data.len()].copy_from_slice(data);
        self.at += data.len();
    }
}

/// Writes `size` bytes of frames with `write` into `inbox`, a buffer the caller reuses, and
/// answers their length; when they do not fit, answers a new buffer. Reusing one buffer spares
/// an allocation (and later a collection) on every call.
fn write_frames<'env>(
    env: &'env Env,
    mut inbox: BufferSlice<'env>,
    size: usize,
    write: impl FnOnce(&mut FrameCursor<'_>),
) -> Result<Either<i32, BufferSlice<'env>>> {
    if size <= inbox.len() && (size as i64) < i64::from(HAS_BLOCKS) {
        let mut cursor = FrameCursor { bytes: &mut inbox[..size], at: 0 };
        write(&mut cursor);
        return Ok(Either::A(size as i32));
    }
    let mut out = vec![0; size];
    write(&mut FrameCursor { bytes: &mut out, at: 0 });
    // Handed over, not copied: the buffer frees the block when collected.
    Ok(Either::B(BufferSlice::from_data(env, out)?))
}

fn dispatch_code(dispatch: Dispatch) -> u32 {
    match dispatch {
        Dispatch::Nothing => 0,
        Dispatch::Wake(slot) => 1 + slot,
        Dispatch::Claimed(_) => 0,
        Dispatch::Spawn(slot) => DISPATCH_SPAWN + slot,
    }
}

#[napi(object)]
pub struct ShutdownResult {
    pub cancelled: Vec<f64>,
    /// `(job id, first item, count)` triples, flattened.
    pub cancelled_ranges: Vec<f64>,
    pub wake: Vec<u32>,
}

#[napi(object)]
pub struct PoolStats {
    pub workers: u32,
    pub idle: u32,
    pub queued: u32,
    pub running: u32,
    pub completed: f64,
}

/// Gives back the large blocks kept for reuse, unless some executor has work in flight; executors
/// call it once they have been idle for a while (see `memory.rs` in the core).
#[napi]
pub fn release_idle_memory() {
    concurrent_futures_core::release_idle_memory();
}

#[napi]
pub struct NativePool {
    id: u32,
    pool: Arc<Pool>,
    /// The main thread's wake-up; `None` on a worker's object. `close()` releases it (and with
    /// it the JS callback, so that the executor can be collected).
    waker: Option<MainWake>,
}

#[napi]
impl NativePool {
    /// Creates a pool (main thread). `on_complete` is called, with no arguments, when completions
    /// are ready to `drain`.
    #[napi(constructor)]
    ///
    /// `max_lingering`: how many idle workers may spin briefly before parking (cores minus one).
    pub fn new(
        env: Env,
        max_workers: u32,
        max_tasks: Option<f64>,
        max_lingering: u32,
        on_complete: Function<(), Unknown<'static>>,
    ) -> Result<Self> {
        if max_workers == 0 || max_workers >= DISPATCH_SPAWN - 1 {
            return Err(Error::new(Status::InvalidArg, format!("maxWorkers out of range: {max_workers}")));
        }
        let waker = MainWake::new(&env, on_complete)?;
        let pool = Pool::new(max_workers as usize, max_tasks.map(|n| n as u64), Box::new(waker.waker()));
        let pool = Arc::new(pool.with_linger(concurrent_futures_core::scheduler::LINGER, max_lingering as usize));
        let id = {
            static NEXT_ID: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
            NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        };
        let mut pools = registry().lock().unwrap_or_else(|e| e.into_inner());
        pools.retain(|_, pool| pool.strong_count() > 0);
        pools.insert(id, Arc::downgrade(&pool));
        Ok(NativePool { id, pool, waker: Some(waker) })
    }

    /// Attaches a worker thread to the pool with this id.
    #[napi(factory)]
    pub fn attach(id: u32) -> Result<Self> {
        let pool = registry().lock().unwrap_or_else(|e| e.into_inner()).get(&id).and_then(Weak::upgrade);
        let pool = pool.ok_or_else(|| Error::new(Status::GenericFailure, format!("no pool with id {id}")))?;
        Ok(NativePool { id, pool, waker: None })
    }

    /// Releases the main thread's wake-up (the executor is shut down and idle): nothing will be
    /// completed any more, and the JS callback must not keep the executor alive.
    #[napi]
    pub fn close(&self) {
        if let Some(waker) = &self.waker {
            waker.close();
        }
    }

    #[napi(getter)]
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Keeps the event loop alive while work is pending (`true`), or lets it exit (`false`).
    #[napi]
    pub fn set_active(&self, active: bool) {
        self.pool.set_active(active);
        if let Some(waker) = &self.waker {
            waker.set_active(active);
        }
    }

    #[napi]
    pub fn register_function(&self, descriptor: String) -> u32 {
        self.pool.register_function(&descriptor)
    }

    #[napi]
    pub fn function(&self, index: u32) -> Option<String> {
        self.pool.function(index).map(|f| f.to_string())
    }

    /// Queues records given as frames `[func u32][items u32][kind u8][len u32][data]` in the
    /// first `length` bytes of `frames`. Returns `[first id * 65536, ...dispatch codes]` (ids are
    /// consecutive), or `[error]` as `submit`. `writer`: the one that wrote the frames and
    /// stashed their blocks (0: none).
    #[napi]
    pub fn submit_batch(&self, frames: &[u8], length: u32, writer: u32) -> Result<Vec<i64>> {
        let mut payloads = Vec::new();
        let mut stashed = stashed_blocks(writer);
        let mut rest = prefix(frames, length)?;
        while !rest.is_empty() {
            let truncated = || Error::new(Status::InvalidArg, "truncated record frame");
            let header = rest.get(..13).ok_or_else(truncated)?;
            let func = u32::from_le_bytes(header[0..4].try_into().expect("4 bytes"));
            let items = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes"));
            let kind = header[8];
            let len = u32::from_le_bytes(header[9..13].try_into().expect("4 bytes")) as usize;
            let data = rest.get(13..13 + len).ok_or_else(truncated)?;
            let blocks = frame_blocks(&mut stashed, kind, data)?;
            payloads.push(Payload { func, items, kind, data: data.to_vec(), blocks });
            rest = &rest[13 + len..];
        }
        Ok(match self.pool.submit_batch(payloads) {
            Ok((id, dispatches)) => std::iter::once(id as i64 * 65536)
                .chain(dispatches.into_iter().map(|d| i64::from(dispatch_code(d))))
                .collect(),
            Err(SubmitError::Shutdown) => vec![SUBMIT_SHUTDOWN],
            Err(SubmitError::Broken) => vec![SUBMIT_BROKEN],
        })
    }

    /// Queues a `map` job: `text` is a JSON array of items. Returns `[id * 65536, ...dispatch
    /// codes]`, or `[error]` (as `submit`, or -3 when `text` is not a JSON array).
    #[napi]
    pub fn submit_job(&self, func: u32, kind: u32, text: String) -> Vec<i64> {
        match self.pool.submit_job(func, kind as u8, text.into_bytes()) {
            None => vec![SUBMIT_NOT_AN_ARRAY],
            Some(Err(SubmitError::Shutdown)) => vec![SUBMIT_SHUTDOWN],
            Some(Err(SubmitError::Broken)) => vec![SUBMIT_BROKEN],
            Some(Ok((id, dispatches))) => std::iter::once(id as i64 * 65536)
                .chain(dispatches.into_iter().map(|d| i64::from(dispatch_code(d))))
                .collect(),
        }
    }

    /// Chunk lengths for `total` items cut before submission (see `Pool::plan_chunks`).
    #[napi]
    pub fn plan_chunks(&self, total: u32) -> Vec<u32> {
        self.pool.plan_chunks(total as usize).into_iter().map(|n| n as u32).collect()
    }

    /// Cancels the items of a job that no worker has taken; returns how many.
    #[napi]
    pub fn cancel_job(&self, id: f64) -> u32 {
        self.pool.cancel_job(id as u64) as u32
    }

    #[napi]
    pub fn cancel(&self, id: f64) -> bool {
        self.pool.cancel(id as u64)
    }

    /// The record's state (0 pending, 1 running, 2 cancelled, 3 finished), or -1 once settled.
    #[napi]
    pub fn state(&self, id: f64) -> i32 {
        self.pool.state(id as u64).map_or(-1, |s| s as i32)
    }

    /// Worker side: the next batch of frames to run, written into `inbox` (the answer is its
    /// length) or, when it does not fit, into a new buffer; or `TAKE_IDLE` (parked: wait for the
    /// doorbell) or `TAKE_EXIT`. `linger`: spin briefly for work before parking (a worker
    /// thread); `false` on the main thread, which must never block.
    #[napi]
    pub fn take<'env>(
        &self,
        env: &'env Env,
        slot: u32,
        item_cost_ns: f64,
        linger: bool,
        inbox: BufferSlice<'env>,
    ) -> Result<Either<i32, BufferSlice<'env>>> {
        let take = if linger {
            self.pool.take(slot, item_cost_ns as u64)
        } else {
            self.pool.take_now(slot, item_cost_ns as u64)
        };
        match take {
            Take::Idle => Ok(Either::A(TAKE_IDLE)),
            Take::Exit => Ok(Either::A(TAKE_EXIT)),
            Take::Work(batch) => {
                let size = batch.iter().map(|p| 13 + p.data.len()).sum();
                let written = write_frames(env, inbox, size, |out| {
                    for p in &batch {
                        out.put(&p.func.to_le_bytes());
                        out.put(&p.items.to_le_bytes());
                        out.put(&[p.kind]);
                        out.put(&(p.data.len() as u32).to_le_bytes());
                        out.put(&p.data);
                    }
                })?;
                Ok(receive(written, Received::Records(batch)))
            }
        }
    }

    /// Worker side: claims record `index` of the batch before running it; `false` when it was
    /// cancelled or taken by another worker meanwhile (report it with any outcome: it is dropped).
    #[napi]
    pub fn start_next(&self, slot: u32, index: u32) -> bool {
        self.pool.start_next(slot, index as usize)
    }

    /// Worker side: the outcomes of the last batch, as frames in the first `length` bytes of
    /// `frames`, which `writer` wrote (as `submitBatch`'s).
    #[napi]
    pub fn complete(&self, slot: u32, frames: &[u8], length: u32, writer: u32) -> Result<()> {
        let mut outcomes = Vec::new();
        let mut stashed = stashed_blocks(writer);
        let mut rest = prefix(frames, length)?;
        while !rest.is_empty() {
            if rest.len() < 5 {
                return Err(Error::new(Status::InvalidArg, "truncated outcome frame"));
            }
            let kind = rest[0];
            let len = u32::from_le_bytes(rest[1..5].try_into().expect("4 bytes")) as usize;
            let data = rest.get(5..5 + len).ok_or_else(|| Error::new(Status::InvalidArg, "truncated outcome frame"))?;
            let blocks = frame_blocks(&mut stashed, kind, data)?;
            outcomes.push(Outcome { kind, data: data.to_vec(), blocks });
            rest = &rest[5 + len..];
        }
        self.pool.complete(slot, outcomes);
        Ok(())
    }

    /// Main side: every completion so far as frames, written into `inbox` (the answer is their
    /// length, 0 when there is none) or, when they do not fit, into a new buffer. With `polling`,
    /// completing workers do not wake the main thread until the next drain without it.
    #[napi]
    pub fn drain<'env>(&self, env: &'env Env, polling: bool, inbox: BufferSlice<'env>) -> Result<Either<i32, BufferSlice<'env>>> {
        let done = if polling { self.pool.poll_completions() } else { self.pool.drain_completions() };
        let size = done.iter().map(|c| 22 + c.data.len()).sum();
        let written = write_frames(env, inbox, size, |out| {
            for Completion { id, first_item, items, status, kind, data, .. } in &done {
                out.put(&(*id as f64).to_le_bytes());
                out.put(&first_item.to_le_bytes());
                out.put(&items.to_le_bytes());
                out.put(&[*status as u8, *kind]);
                out.put(&(data.len() as u32).to_le_bytes());
                out.put(data);
            }
        })?;
        let blocks = done.into_iter().flat_map(|completion| completion.blocks).collect();
        Ok(receive(written, Received::Outcomes(blocks)))
    }

    /// A worker has exited: returns a dispatch code (as `submit`'s low bits), or -1 when its death
    /// broke the pool.
    #[napi]
    pub fn worker_exited(&self, slot: u32) -> i32 {
        let report = self.pool.worker_exited(slot);
        if report.broke { -1 } else { dispatch_code(report.dispatch) as i32 }
    }

    #[napi]
    pub fn break_pool(&self, fail_running: bool) {
        self.pool.break_pool(fail_running);
    }

    #[napi]
    pub fn shutdown(&self, cancel_futures: bool) -> ShutdownResult {
        let report = self.pool.shutdown(cancel_futures);
        ShutdownResult {
            cancelled: report.cancelled.into_iter().map(|id| id as f64).collect(),
            cancelled_ranges: report
                .cancelled_ranges
                .into_iter()
                .flat_map(|(id, first, count)| [id as f64, f64::from(first), f64::from(count)])
                .collect(),
            wake: report.wake,
        }
    }

    #[napi]
    pub fn stats(&self) -> PoolStats {
        let s = self.pool.stats();
        PoolStats {
            workers: s.workers as u32,
            idle: s.idle as u32,
            queued: s.queued as u32,
            running: s.running as u32,
            completed: s.completed as f64,
        }
    }
}
