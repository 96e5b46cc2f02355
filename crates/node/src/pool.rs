//! `NativePool`: the core's [`Pool`] as JavaScript sees it, on the main thread (the executor) and
//! on each worker thread (attached by the pool's id).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use concurrent_futures_core::frames;
use concurrent_futures_core::{Outcome, Payload, Pool, Take};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::answers::{self, CancelledRange, PoolStats, PoolTiming, StoppedRecord, ShutdownResult, WorkerCrash, WorkerExit, SUBMIT_NOT_AN_ARRAY, TAKE_EXIT, TAKE_IDLE};
use crate::blocks::{self, Received, Stash};
use crate::main_wake::MainWake;

/// Pools by id, so that worker threads can attach. Weak: the main thread's object owns the pool.
fn registry() -> &'static Mutex<HashMap<u32, Weak<Pool>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<u32, Weak<Pool>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

fn invalid(error: impl std::fmt::Display) -> Error {
    Error::new(Status::InvalidArg, error.to_string())
}

/// The first `length` bytes of `frames`: callers pass the whole buffer they write frames into.
fn prefix(frames: &[u8], length: u32) -> Result<&[u8]> {
    frames.get(..length as usize).ok_or_else(|| invalid("frame length beyond the buffer"))
}

/// Writes a batch of `size` bytes with `write` into `inbox`, a buffer the caller reuses, and
/// answers its length; when it does not fit, answers a new buffer. Reusing one buffer spares an
/// allocation (and later a collection) on every call.
fn write_batch<'env>(env: &'env Env, mut inbox: BufferSlice<'env>, size: usize, write: impl FnOnce(&mut [u8])) -> Result<Either<i32, BufferSlice<'env>>> {
    if size <= inbox.len() {
        write(&mut inbox[..size]);
        return Ok(Either::A(i32::try_from(size).map_err(invalid)?));
    }
    let mut out = vec![0; size];
    write(&mut out);
    // Handed over, not copied: the buffer frees the block when collected.
    Ok(Either::B(BufferSlice::from_data(env, out)?))
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
    /// are ready to `drain`. `max_lingering`: how many idle workers may spin briefly before
    /// parking (the cores beside the main thread's; 0 for workers that do not attach).
    #[napi(constructor)]
    pub fn new(env: Env, max_workers: u32, max_tasks: Option<f64>, max_lingering: u32, on_complete: Function<(), Unknown<'static>>) -> Result<Self> {
        if max_workers == 0 {
            return Err(invalid("maxWorkers must be at least 1"));
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
        ATTACHED.with_borrow_mut(|attached| *attached = Some(Arc::clone(&pool)));
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

    /// Queues the record frames in the first `length` bytes of `frames`, which `writer` wrote and
    /// stashed the blocks of (0: none); `alone`: each record travels to a worker in a batch of its
    /// own (see `Pool::submit_batch_alone`). Answers `[first id, ...dispatches]` (ids are
    /// consecutive) or a refusal (see `answers`).
    #[napi]
    pub fn submit_batch(&self, frames: &[u8], length: u32, writer: u32, alone: Option<bool>) -> Result<Vec<i64>> {
        let mut stash = Stash::of(writer);
        let records = frames::parse_records(prefix(frames, length)?).map_err(invalid)?;
        let payloads = records
            .iter()
            .map(|r| {
                let blocks = stash.blocks_of(&r.value)?;
                Ok(Payload { func: r.func, items: r.items, kind: r.value.kind, data: r.value.data.to_vec(), blocks })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(answers::submitted(if alone == Some(true) { self.pool.submit_batch_alone(payloads) } else { self.pool.submit_batch(payloads) }))
    }

    /// Queues a `map` job: `text` is a JSON array of items. Answers as `submitBatch`, or
    /// `[SUBMIT_NOT_AN_ARRAY]`.
    #[napi]
    pub fn submit_job(&self, func: u32, kind: u32, text: String, alone: Option<bool>) -> Vec<i64> {
        match self.pool.submit_job_with(func, kind as u8, text.into_bytes(), alone == Some(true)) {
            None => vec![i64::from(SUBMIT_NOT_AN_ARRAY)],
            Some(result) => answers::submitted(result),
        }
    }

    /// Chunk lengths for `total` items of function `func` cut before submission (see
    /// `Pool::plan_chunks`).
    #[napi]
    pub fn plan_chunks(&self, total: u32, func: u32) -> Vec<u32> {
        self.pool.plan_chunks(total as usize, func).into_iter().map(|n| n as u32).collect()
    }

    /// Stops a cancelled `map` run's record or job where workers run it; answers the slots of
    /// the workers to interrupt (see `Pool::stop`).
    #[napi]
    pub fn stop(&self, id: f64) -> Vec<u32> {
        self.pool.stop(id as u64)
    }

    /// Stops a task whose run was aborted where workers run it; answers each worker's slot and
    /// the record's index in its batch (see `Pool::stop_task`).
    #[napi]
    pub fn stop_task(&self, id: f64) -> Vec<StoppedRecord> {
        self.pool.stop_task(id as u64).into_iter().map(|(slot, index)| StoppedRecord { slot, index }).collect()
    }

    /// How long record `id` has been running, in milliseconds; -1 when it is not running.
    #[napi]
    pub fn running_for(&self, id: f64) -> f64 {
        self.pool.running_for(id as u64).map_or(-1.0, |d| d.as_secs_f64() * 1e3)
    }

    /// Worker side (or the main thread for a child): the indices of the records of `slot`'s
    /// batch that were stopped.
    #[napi]
    pub fn stopped(&self, slot: u32) -> Vec<u32> {
        self.pool.stopped(slot)
    }

    /// Cancels the items of a job that no worker has taken; answers how many.
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

    /// Worker side: the next batch of record frames to run, written into `inbox` (answers its
    /// length) or, when it does not fit, into a new buffer; or `TAKE_IDLE` (parked: wait for the
    /// doorbell) or `TAKE_EXIT`. `linger`: spin briefly for work before parking (a worker thread);
    /// `false` on the main thread, which must never block. When the batch has blocks, `takeBlocks`
    /// gives them.
    #[napi]
    pub fn take<'env>(&self, env: &'env Env, slot: u32, item_cost_ns: f64, linger: bool, inbox: BufferSlice<'env>) -> Result<Either<i32, BufferSlice<'env>>> {
        let take = if linger { self.pool.take(slot, item_cost_ns as u64) } else { self.pool.take_now(slot, item_cost_ns as u64) };
        match take {
            Take::Idle => Ok(Either::A(TAKE_IDLE)),
            Take::Exit => Ok(Either::A(TAKE_EXIT)),
            Take::Work(batch) => {
                let written = write_batch(env, inbox, frames::records_size(&batch), |out| frames::write_records(out, &batch))?;
                blocks::receive(Received::Records(batch));
                Ok(written)
            }
        }
    }


    /// Worker side: the outcomes of the last batch, as value frames in the first `length` bytes of
    /// `frames`, which `writer` wrote (as `submitBatch`'s).
    #[napi]
    pub fn complete(&self, slot: u32, frames: &[u8], length: u32, writer: u32) -> Result<()> {
        let mut stash = Stash::of(writer);
        let values = frames::parse_values(prefix(frames, length)?).map_err(invalid)?;
        let outcomes = values
            .iter()
            .map(|v| Ok(Outcome { kind: v.kind, data: v.data.to_vec(), blocks: stash.blocks_of(v)? }))
            .collect::<Result<Vec<_>>>()?;
        self.pool.complete(slot, outcomes);
        Ok(())
    }

    /// Worker side: the outcome of the next `count` items of record `index` of the batch, ahead
    /// of the rest (see `Pool::complete_part`), as one value frame in the first `length` bytes of
    /// `frames`, which `writer` wrote.
    #[napi]
    pub fn complete_part(&self, slot: u32, index: u32, count: u32, frames: &[u8], length: u32, writer: u32) -> Result<()> {
        let mut stash = Stash::of(writer);
        let values = frames::parse_values(prefix(frames, length)?).map_err(invalid)?;
        let [value] = values.as_slice() else { return Err(invalid("a part is one value frame")) };
        let outcome = Outcome { kind: value.kind, data: value.data.to_vec(), blocks: stash.blocks_of(value)? };
        self.pool.complete_part(slot, index as usize, count, outcome);
        Ok(())
    }

    /// Main side: every completion so far as a batch of frames, written into `inbox` (answers its
    /// length, 0 when there is none) or, when it does not fit, into a new buffer. With `polling`,
    /// completing workers do not wake the main thread until the next drain without it.
    #[napi]
    pub fn drain<'env>(&self, env: &'env Env, polling: bool, inbox: BufferSlice<'env>) -> Result<Either<i32, BufferSlice<'env>>> {
        let done = if polling { self.pool.poll_completions() } else { self.pool.drain_completions() };
        if done.is_empty() {
            return Ok(Either::A(0));
        }
        let written = write_batch(env, inbox, frames::completions_size(&done), |out| frames::write_completions(out, &done))?;
        blocks::receive(Received::Outcomes(done.into_iter().flat_map(|c| c.blocks).collect()));
        Ok(written)
    }

    /// A worker has exited (main thread, from its `exit` event).
    #[napi]
    pub fn worker_exited(&self, slot: u32) -> WorkerExit {
        let report = self.pool.worker_exited(slot);
        WorkerExit { broke: report.broke, dispatch: answers::dispatch_code(report.dispatch) }
    }

    /// A worker has exited, in a pool that replaces crashed workers (see
    /// `Pool::worker_exited_replacing`).
    #[napi]
    pub fn worker_crashed(&self, slot: u32) -> WorkerCrash {
        let report = self.pool.worker_exited_replacing(slot);
        WorkerCrash {
            broke: report.broke,
            crashed: report.crashed.into_iter().map(|(id, first, count)| CancelledRange { id: id as f64, first, count }).collect(),
            dispatch: answers::dispatch_code(report.dispatch),
        }
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
            cancelled_ranges: report.cancelled_ranges.into_iter().map(|(id, first, count)| CancelledRange { id: id as f64, first, count }).collect(),
            wake: report.wake,
        }
    }

    /// How long records waited and ran, and how busy the workers were.
    #[napi]
    pub fn timing(&self) -> PoolTiming {
        let t = self.pool.timing();
        PoolTiming { wait_time: t.wait.into(), run_time: t.run.into(), utilization: t.utilization }
    }

    #[napi]
    pub fn stats(&self) -> PoolStats {
        let s = self.pool.stats();
        PoolStats { workers: s.workers as u32, idle: s.idle as u32, queued: s.queued as u32, running: s.running as u32, completed: s.completed as f64 }
    }
}

thread_local! {
    /// The pool this worker thread attached to (`NativePool.attach`), for `startNext`.
    static ATTACHED: std::cell::RefCell<Option<Arc<Pool>>> = const { std::cell::RefCell::new(None) };
}

/// Worker side: claims record `index` of the batch before running it; `false` when it was
/// cancelled or taken by another worker meanwhile (report it with any outcome: it is dropped), or
/// when this thread attached to no pool. A function rather than a method of the pool's object:
/// called once per record, and unwrapping the object cost more than the claim.
#[napi]
pub fn start_next(slot: u32, index: u32) -> bool {
    ATTACHED.with_borrow(|pool| pool.as_ref().is_some_and(|pool| pool.start_next(slot, index as usize)))
}
