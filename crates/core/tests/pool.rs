#![cfg(not(loom))]
//! `Pool` through its public API, driven by hand from one thread (each call stands for the main
//! thread or a worker, as its doc says), plus a multi-threaded stress test.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use concurrent_futures_core::scheduler::LINGER;
use concurrent_futures_core::{Completion, Dispatch, Outcome, Payload, Pool, Slot, State, Stats, Status, SubmitError, Take, Taken, TaskId};

fn payload(tag: u8) -> Payload {
    items_payload(tag, 1)
}

fn items_payload(tag: u8, items: u32) -> Payload {
    Payload { func: 0, items, kind: 0, data: vec![tag], blocks: vec![] }
}

/// Workers park at once: these tests call `take` from one thread, where nobody could submit
/// while a worker lingers. The linger tests below set their own.
fn pool(max_workers: usize) -> Pool {
    Pool::new(max_workers, None, Box::new(|| {})).with_linger(Duration::ZERO, 0)
}

/// A pool whose waker counts its calls.
fn counted_pool(max_workers: usize, max_tasks: Option<u64>) -> (Pool, Arc<AtomicUsize>) {
    let wakes = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&wakes);
    let pool = Pool::new(max_workers, max_tasks, Box::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    }));
    (pool.with_linger(Duration::ZERO, 0), wakes)
}

fn submit(pool: &Pool, tag: u8) -> (TaskId, Dispatch) {
    pool.submit(payload(tag)).expect("submit accepted")
}

fn tags(take: Take) -> Vec<u8> {
    match take {
        Take::Work(batch) => batch.iter().map(|p| p.data[0]).collect(),
        other => panic!("expected work, got {other:?}"),
    }
}

/// Completes a batch, echoing each payload's tag as its outcome.
/// As a worker does: claim each record after the first before running it (`start_next`).
fn claim_rest(pool: &Pool, slot: Slot, records: usize) -> Vec<bool> {
    (0..records).map(|i| i == 0 || pool.start_next(slot, i)).collect()
}

/// Runs a batch as a worker would; returns the tags of the records it ran.
fn run(pool: &Pool, slot: Slot, take: Take) -> Vec<u8> {
    let tags = tags(take);
    let ran = claim_rest(pool, slot, tags.len());
    pool.complete(slot, tags.iter().map(|&t| (0, vec![t])).collect());
    tags.into_iter().zip(ran).filter(|(_, ran)| *ran).map(|(t, _)| t).collect()
}

fn ids(done: &[Completion]) -> Vec<TaskId> {
    done.iter().map(|c| c.id).collect()
}

#[test]
fn first_submit_spawns_slot_zero() {
    let pool = pool(2);
    assert_eq!(pool.stats().workers, 0, "no worker before the first submit");
    let (id, dispatch) = submit(&pool, 1);
    assert_eq!((id, dispatch), (1, Dispatch::Spawn(0)));
}

#[test]
fn never_more_than_max_workers_alive() {
    let pool = pool(3);
    let dispatches: Vec<_> = (0..10).map(|i| submit(&pool, i).1).collect();
    assert_eq!(&dispatches[..3], [Dispatch::Spawn(0), Dispatch::Spawn(1), Dispatch::Spawn(2)]);
    assert!(dispatches[3..].iter().all(|&d| d == Dispatch::Nothing));
    assert_eq!(pool.stats().workers, 3);
}

#[test]
fn idle_worker_is_woken_before_a_new_one_starts() {
    let pool = pool(2);
    submit(&pool, 1);
    run(&pool, 0, pool.take(0, 0));
    assert_eq!(pool.take(0, 0), Take::Idle);
    assert_eq!(pool.stats().idle, 1);
    assert_eq!(submit(&pool, 2).1, Dispatch::Wake(0));
    assert_eq!(pool.stats(), Stats { workers: 1, idle: 0, queued: 1, running: 0, completed: 1 });
    assert_eq!(tags(pool.take(0, 0)), [2]);
}

#[test]
fn take_hands_out_work_then_parks_then_exits_on_shutdown() {
    let pool = pool(1);
    submit(&pool, 7);
    assert_eq!(run(&pool, 0, pool.take(0, 0)), [7]);
    assert_eq!(pool.take(0, 0), Take::Idle);
    let report = pool.shutdown(false);
    assert_eq!(report.wake, [0], "shutdown rings the parked worker");
    assert_eq!(pool.take(0, 0), Take::Exit);
}

#[test]
fn take_from_an_unknown_slot_is_exit() {
    let pool = pool(1);
    submit(&pool, 1);
    assert_eq!(pool.take(5, 0), Take::Exit);
}

#[test]
fn batch_keeps_submission_order() {
    let pool = pool(1);
    let submitted: Vec<TaskId> = (0..10).map(|i| submit(&pool, i).0).collect();
    pool.measure(0, 1_000);
    // A measured cost of 1 µs per record asks for min(budget, fair share of 10) = 5 records.
    assert_eq!(run(&pool, 0, pool.take(0, 1_000)), [0, 1, 2, 3, 4]);
    let done = pool.drain_completions();
    assert_eq!(ids(&done), submitted[..5]);
    assert!(done.iter().zip(0u8..).all(|(c, tag)| c.status == Status::Done && c.data == [tag]));
}

#[test]
fn an_outcomes_blocks_reach_the_main_thread_as_they_were_allocated() {
    let pool = pool(1);
    let (a, _) = submit(&pool, 1);
    let (b, _) = submit(&pool, 2);
    assert_eq!(tags(pool.take(0, 0)), [1]);
    let block = vec![7u8; 1 << 20];
    let address = block.as_ptr();
    pool.complete(0, vec![Outcome { kind: 5, data: vec![1], blocks: vec![block, vec![8; 3]] }]);
    assert_eq!(tags(pool.take(0, 0)), [2]);
    pool.complete(0, vec![(0, vec![2])]);
    let done = pool.drain_completions();
    assert_eq!(ids(&done), [a, b]);
    assert_eq!(done[0].blocks.len(), 2);
    assert_eq!(done[0].blocks[0].as_ptr(), address, "moved, not copied");
    assert_eq!(done[0].blocks[1], [8; 3]);
    assert!(done[1].blocks.is_empty());
}

#[test]
fn waker_is_called_once_per_drain_cycle() {
    let (pool, wakes) = counted_pool(2, None);
    for tag in 0..4 {
        submit(&pool, tag);
    }
    let first = pool.take(0, 0);
    let second = pool.take(1, 0);
    run(&pool, 0, first);
    run(&pool, 1, second);
    assert_eq!(wakes.load(Ordering::SeqCst), 1, "the second push finds a wake-up in flight");
    assert_eq!(pool.drain_completions().len(), 2);

    run(&pool, 0, pool.take(0, 0));
    assert_eq!(wakes.load(Ordering::SeqCst), 2, "the first push after a drain wakes again");
    run(&pool, 1, pool.take(1, 0));
    assert_eq!(wakes.load(Ordering::SeqCst), 2);
    assert_eq!(pool.drain_completions().len(), 2);
    assert!(pool.drain_completions().is_empty());
}

#[test]
fn cancelled_pending_record_is_never_taken() {
    let pool = pool(1);
    let (a, _) = submit(&pool, 1);
    submit(&pool, 2);
    assert!(pool.cancel(a));
    assert_eq!(pool.state(a), None, "a cancelled record is settled");
    assert_eq!(tags(pool.take(0, 0)), [2]);
}

#[test]
fn running_record_cannot_be_cancelled() {
    let pool = pool(1);
    let (id, _) = submit(&pool, 1);
    let take = pool.take(0, 0);
    assert!(!pool.cancel(id));
    assert_eq!(pool.state(id), Some(State::Running));
    run(&pool, 0, take);
    assert!(!pool.cancel(id), "nor a finished one");
}

#[test]
fn second_cancel_of_a_record_is_false_because_it_is_settled() {
    // The first cancel settles the record: the pool forgets it, as it forgets a drained one, so a
    // second cancel answers like one for an unknown id. The JavaScript `Future.cancel()` answers
    // `true` itself for a cancelled future and never asks the pool twice.
    let pool = pool(1);
    let (id, _) = submit(&pool, 1);
    assert!(pool.cancel(id));
    assert!(!pool.cancel(id));
    assert!(!pool.cancel(99), "unknown id");
    assert_eq!(pool.stats().queued, 0, "the items are subtracted once");
}

#[test]
fn state_follows_the_record_until_drained() {
    let pool = pool(1);
    let (id, _) = submit(&pool, 1);
    assert_eq!(pool.state(id), Some(State::Pending));
    let take = pool.take(0, 0);
    assert_eq!(pool.state(id), Some(State::Running));
    run(&pool, 0, take);
    assert_eq!(pool.state(id), Some(State::Finished));
    pool.drain_completions();
    assert_eq!(pool.state(id), None);
}

#[test]
fn worker_is_recycled_after_max_tasks_records() {
    let (pool, _) = counted_pool(1, Some(3));
    for tag in 0..5 {
        submit(&pool, tag);
    }
    for tag in 0..3 {
        assert_eq!(run(&pool, 0, pool.take(0, 0)), [tag]);
    }
    assert_eq!(pool.take(0, 0), Take::Exit, "quota used up although work remains");
    let report = pool.worker_exited(0);
    assert!(!report.broke);
    assert_eq!(report.dispatch, Dispatch::Spawn(0), "a replacement for the queued work");
    assert_eq!(run(&pool, 0, pool.take(0, 0)), [3]);
    assert_eq!(run(&pool, 0, pool.take(0, 0)), [4]);
}

#[test]
fn quota_caps_the_batch() {
    let (pool, _) = counted_pool(1, Some(3));
    for tag in 0..10 {
        submit(&pool, tag);
    pool.measure(0, 1);
    }
    assert_eq!(run(&pool, 0, pool.take(0, 1)), [0, 1, 2]);
    assert_eq!(pool.take(0, 1), Take::Exit);
}

#[test]
fn recycled_worker_is_not_replaced_without_work() {
    let (pool, _) = counted_pool(1, Some(1));
    submit(&pool, 0);
    run(&pool, 0, pool.take(0, 0));
    assert_eq!(pool.take(0, 0), Take::Exit);
    assert_eq!(pool.worker_exited(0).dispatch, Dispatch::Nothing);
    assert_eq!(pool.stats().workers, 0);
    assert_eq!(submit(&pool, 1).1, Dispatch::Spawn(0));
}

#[test]
fn worker_dying_with_records_breaks_the_pool() {
    let (pool, wakes) = counted_pool(1, None);
    let (held, _) = submit(&pool, 1);
    let (queued, _) = submit(&pool, 2);
    let take = pool.take(0, 0);
    let report = pool.worker_exited(0);
    assert!(report.broke);
    assert_eq!(report.dispatch, Dispatch::Nothing);
    assert!(pool.is_broken());
    assert_eq!(wakes.load(Ordering::SeqCst), 1);
    let done = pool.drain_completions();
    assert_eq!(ids(&done), [held, queued]);
    assert!(done.iter().all(|c| c.status == Status::Broken && c.data.is_empty()));
    assert_eq!(pool.submit(payload(3)), Err(SubmitError::Broken));
    assert_eq!(pool.stats(), Stats { workers: 0, idle: 0, queued: 0, running: 0, completed: 0 });

    run(&pool, 0, take); // a late report from the dead worker's slot
    assert!(pool.drain_completions().is_empty(), "late outcomes are dropped");
}

#[test]
fn late_outcomes_after_break_pool_are_dropped() {
    let pool = pool(1);
    let (id, _) = submit(&pool, 1);
    let take = pool.take(0, 0);
    pool.break_pool(true);
    run(&pool, 0, take);
    assert_eq!(pool.take(0, 0), Take::Exit);
    let done = pool.drain_completions();
    assert_eq!((ids(&done), done[0].status), (vec![id], Status::Broken));
}

#[test]
fn worker_dying_while_starting_breaks_the_pool() {
    let pool = pool(1);
    let (id, dispatch) = submit(&pool, 1);
    assert_eq!(dispatch, Dispatch::Spawn(0));
    assert!(pool.worker_exited(0).broke, "e.g. its initializer failed");
    assert_eq!(ids(&pool.drain_completions()), [id]);
}

#[test]
fn idle_worker_death_does_not_break_the_pool() {
    let pool = pool(1);
    submit(&pool, 1);
    run(&pool, 0, pool.take(0, 0));
    assert_eq!(pool.take(0, 0), Take::Idle);
    let report = pool.worker_exited(0);
    assert!(!report.broke);
    assert_eq!(report.dispatch, Dispatch::Nothing);
    assert_eq!(pool.stats().idle, 0);
    assert_eq!(submit(&pool, 2).1, Dispatch::Spawn(0), "the slot is free again");
}

#[test]
fn exit_of_an_unknown_slot_is_ignored() {
    let pool = pool(1);
    assert_eq!(pool.worker_exited(3), concurrent_futures_core::ExitReport { broke: false, dispatch: Dispatch::Nothing });
    assert!(!pool.is_broken());
}

#[test]
fn shutdown_without_cancel_lets_queued_work_run() {
    let pool = pool(1);
    submit(&pool, 1);
    submit(&pool, 2);
    let report = pool.shutdown(false);
    assert!(report.cancelled.is_empty());
    assert!(report.wake.is_empty(), "the starting worker is not idle");
    assert_eq!(pool.submit(payload(3)), Err(SubmitError::Shutdown));
    assert_eq!(run(&pool, 0, pool.take(0, 0)), [1]);
    assert_eq!(run(&pool, 0, pool.take(0, 0)), [2]);
    assert_eq!(pool.take(0, 0), Take::Exit);
    assert_eq!(pool.worker_exited(0).dispatch, Dispatch::Nothing);
}

#[test]
fn shutdown_with_cancel_returns_the_queued_records() {
    let pool = pool(1);
    let (running, _) = submit(&pool, 1);
    let take = pool.take(0, 0);
    let (a, _) = submit(&pool, 2);
    let (b, _) = submit(&pool, 3);
    let (c, _) = submit(&pool, 4);
    assert!(pool.cancel(b));
    let report = pool.shutdown(true);
    assert_eq!(report.cancelled, [a, c], "b was already cancelled");
    assert_eq!((pool.state(a), pool.state(c)), (None, None));
    assert_eq!(pool.stats().queued, 0);
    run(&pool, 0, take);
    assert_eq!(pool.take(0, 0), Take::Exit);
    assert_eq!(ids(&pool.drain_completions()), [running]);
}

#[test]
fn shutdown_wakes_every_idle_worker() {
    let pool = pool(2);
    submit(&pool, 1);
    submit(&pool, 2);
    let (first, second) = (pool.take(0, 0), pool.take(1, 0));
    run(&pool, 0, first);
    run(&pool, 1, second);
    assert_eq!((pool.take(0, 0), pool.take(1, 0)), (Take::Idle, Take::Idle));
    let mut wake = pool.shutdown(true).wake;
    wake.sort();
    assert_eq!(wake, [0, 1]);
    assert_eq!(pool.stats().idle, 0);
    assert_eq!((pool.take(0, 0), pool.take(1, 0)), (Take::Exit, Take::Exit));
}

#[test]
fn broken_is_reported_before_shutdown() {
    let pool = pool(1);
    pool.break_pool(true);
    pool.shutdown(false);
    assert_eq!(pool.submit(payload(1)), Err(SubmitError::Broken));
}

#[test]
fn stats_count_items_not_records() {
    let pool = pool(2);
    let (three, _) = pool.submit(items_payload(1, 3)).unwrap();
    let (five, _) = pool.submit(items_payload(2, 5)).unwrap();
    let (two, _) = pool.submit(items_payload(3, 2)).unwrap();
    assert_eq!(pool.stats(), Stats { workers: 2, idle: 0, queued: 10, running: 0, completed: 0 });

    let take = pool.take(0, 0);
    assert_eq!(pool.stats(), Stats { workers: 2, idle: 0, queued: 7, running: 3, completed: 0 });
    assert!(pool.cancel(five));
    assert_eq!(pool.stats().queued, 2);
    run(&pool, 0, take);
    assert_eq!(pool.stats(), Stats { workers: 2, idle: 0, queued: 2, running: 0, completed: 3 });

    assert_eq!(tags(pool.take(1, 0)), [3], "the cancelled record is skipped");
    pool.complete(1, vec![(0, vec![])]);
    assert_eq!(pool.take(0, 0), Take::Idle);
    assert_eq!(pool.stats(), Stats { workers: 2, idle: 1, queued: 0, running: 0, completed: 5 });
    assert_eq!(ids(&pool.drain_completions()), [three, two]);
}

#[test]
fn registered_functions_are_found_by_index() {
    let pool = pool(1);
    assert_eq!(pool.register_function("a"), 0);
    assert_eq!(pool.register_function("b"), 1);
    assert_eq!(pool.function(1).as_deref(), Some("b"));
    assert_eq!(pool.function(2), None);
}

/// A pool whose slot 0 worker has run one record and is free again, lingering `linger` when idle.
fn lingering_pool(max_workers: usize, linger: Duration, max_lingering: usize) -> Arc<Pool> {
    let pool = Pool::new(max_workers, None, Box::new(|| {})).with_linger(linger, max_lingering);
    submit(&pool, 0);
    run(&pool, 0, pool.take(0, 0));
    Arc::new(pool)
}

fn wait_until_idle(pool: &Pool, idle: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while pool.stats().idle != idle {
        assert!(Instant::now() < deadline, "never {idle} idle: {:?}", pool.stats());
        thread::yield_now();
    }
}

#[test]
fn submit_claims_a_lingering_worker_without_a_doorbell() {
    let pool = lingering_pool(1, Duration::from_secs(30), 1);
    let worker = thread::spawn({
        let pool = Arc::clone(&pool);
        move || tags(pool.take(0, 0))
    });
    wait_until_idle(&pool, 1); // a lingering worker is listed idle
    assert_eq!(submit(&pool, 1).1, Dispatch::Claimed(0));
    assert_eq!(worker.join().unwrap(), [1], "it found the work without its doorbell");
}

#[test]
fn a_worker_that_reports_its_outcomes_is_claimed_before_a_parked_one_is_woken() {
    let pool = Pool::new(2, None, Box::new(|| {})).with_linger(Duration::from_secs(30), 1);
    submit(&pool, 0);
    submit(&pool, 1);
    let (first, second) = (pool.take(0, 0), pool.take(1, 0));
    run(&pool, 1, second);
    assert_eq!(pool.take_now(1, 0), Take::Idle, "slot 1 is parked");
    // Slot 0 reports; the main thread sees the outcome and submits before slot 0 calls `take`.
    run(&pool, 0, first);
    assert_eq!(submit(&pool, 2).1, Dispatch::Claimed(0), "no doorbell, and slot 1 sleeps on");
    assert_eq!(tags(pool.take(0, 0)), [2]);
}

/// Restricts the calling thread to `cores`.
#[cfg(target_os = "linux")]
fn pin(cores: &[usize]) {
    // SAFETY: a zeroed `cpu_set_t` is valid; the indices are small; pid 0 is the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &core in cores {
            libc::CPU_SET(core, &mut set);
        }
        assert_eq!(libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set), 0);
    }
}

#[test]
#[cfg(target_os = "linux")]
fn a_lingering_worker_moves_off_the_core_the_main_thread_polls_from() {
    let pool = lingering_pool(1, Duration::from_millis(20), 1);
    if thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        // One core: nowhere to move; the worker lingers and parks as usual.
        pool.poll_completions();
        assert_eq!(pool.take(0, 0), Take::Idle);
        assert_eq!(pool.lingerers_moved(), 0);
        return;
    }
    pin(&[0]);
    pool.poll_completions(); // the main thread (this one) polls from core 0
    // Where the worker runs after its linger is the scheduler's choice (other tests keep core 1
    // busy, and an idle core 0 pulls work back), so the check is that it moved itself. The kernel
    // may also move it between `pin` and the start of the linger: then there is nothing to move
    // off, and the worker lingers again.
    for _ in 0..20 {
        let worker = thread::spawn({
            let pool = Arc::clone(&pool);
            move || {
                pin(&[0]);
                pin(&[0, 1]); // allowed on both, running on core 0, beside the polling thread
                pool.take(0, 0) // lingers 20 ms, then parks
            }
        });
        assert_eq!(worker.join().unwrap(), Take::Idle);
        if pool.lingerers_moved() > 0 {
            assert_eq!(pool.lingerers_moved(), 1, "one linger, one move");
            return;
        }
    }
    panic!("a worker lingering on the polling core never moved off it");
}

#[test]
fn worker_parks_when_its_linger_ends() {
    let pool = lingering_pool(1, Duration::from_millis(2), 1);
    let start = Instant::now();
    assert_eq!(pool.take(0, 0), Take::Idle);
    assert!(start.elapsed() >= Duration::from_millis(2));
    assert_eq!(submit(&pool, 1).1, Dispatch::Wake(0), "a parked worker needs its doorbell");
}

#[test]
fn no_more_than_max_lingering_workers_linger() {
    let pool = Arc::new(Pool::new(2, None, Box::new(|| {})).with_linger(Duration::from_millis(300), 1));
    submit(&pool, 0);
    submit(&pool, 1);
    let (first, second) = (pool.take(0, 0), pool.take(1, 0));
    run(&pool, 0, first);
    run(&pool, 1, second);
    let lingerer = thread::spawn({
        let pool = Arc::clone(&pool);
        move || pool.take(0, 0)
    });
    wait_until_idle(&pool, 1);
    let start = Instant::now();
    assert_eq!(pool.take(1, 0), Take::Idle);
    assert!(start.elapsed() < Duration::from_millis(300), "the second worker parked at once");
    assert_eq!(lingerer.join().unwrap(), Take::Idle);
}

#[test]
fn shutdown_rings_only_parked_workers() {
    let pool = lingering_pool(1, Duration::from_millis(50), 1);
    let worker = thread::spawn({
        let pool = Arc::clone(&pool);
        move || pool.take(0, 0)
    });
    wait_until_idle(&pool, 1);
    let report = pool.shutdown(false);
    assert!(report.wake.is_empty(), "a lingering worker sees the shutdown by itself");
    assert_eq!(worker.join().unwrap(), Take::Exit);
}

/// A worker's doorbell: the main thread rings it, the parked worker waits for it.
#[derive(Default)]
struct Doorbell {
    rung: Mutex<bool>,
    bell: Condvar,
}

impl Doorbell {
    fn ring(&self) {
        *self.rung.lock().unwrap() = true;
        self.bell.notify_one();
    }

    fn wait(&self) {
        let mut rung = self.rung.lock().unwrap();
        while !*rung {
            rung = self.bell.wait(rung).unwrap();
        }
        *rung = false;
    }
}

/// Xorshift: enough randomness to pick records to cancel, without a dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn stress_every_record_completes_once_or_is_cancelled() {
    const RECORDS: u32 = 50_000;
    const WORKERS: usize = 3;

    let woken = Arc::new(AtomicBool::new(false));
    let wakes = Arc::new(AtomicUsize::new(0));
    let pool = {
        let (woken, wakes) = (Arc::clone(&woken), Arc::clone(&wakes));
        // Recycling every 700 records also exercises worker_exited → Spawn under load.
        let pool = Pool::new(WORKERS, Some(700), Box::new(move || {
            wakes.fetch_add(1, Ordering::SeqCst);
            woken.store(true, Ordering::SeqCst);
        }));
        Arc::new(pool.with_linger(LINGER, 2))
    };
    let doorbells: Arc<Vec<Doorbell>> = Arc::new((0..WORKERS).map(|_| Doorbell::default()).collect());
    let (exit_tx, exits) = mpsc::channel::<Slot>();
    let mut threads = Vec::new();
    let spawn = |slot: Slot, threads: &mut Vec<thread::JoinHandle<()>>| {
        let (pool, doorbells, exit_tx) = (Arc::clone(&pool), Arc::clone(&doorbells), exit_tx.clone());
        threads.push(thread::spawn(move || {
            // Slot 0 measures nothing (one record per take); the others batch.
            let cost = u64::from(slot) * 500;
            loop {
                match pool.take(slot, cost) {
                    Take::Work(batch) => {
                        claim_rest(&pool, slot, batch.len());
                        pool.complete(slot, batch.into_iter().map(|p| (p.kind, p.data.clone())).collect())
                    }
                    Take::Idle => doorbells[slot as usize].wait(),
                    Take::Exit => break,
                }
            }
            exit_tx.send(slot).unwrap();
        }));
    };
    let dispatch = |d: Dispatch, threads: &mut Vec<thread::JoinHandle<()>>| match d {
        Dispatch::Nothing => {}
        Dispatch::Wake(slot) => doorbells[slot as usize].ring(),
        Dispatch::Claimed(_) => {}
        Dispatch::Spawn(slot) => spawn(slot, threads),
    };

    let mut items_of: HashMap<TaskId, (u32, Vec<u8>)> = HashMap::new();
    let mut cancelled = HashSet::new();
    let mut completed = HashSet::new();
    let mut drains = 0usize;
    let mut service = |pool: &Pool, threads: &mut Vec<thread::JoinHandle<()>>, completed: &mut HashSet<TaskId>, items_of: &HashMap<TaskId, (u32, Vec<u8>)>| {
        while let Ok(slot) = exits.try_recv() {
            let report = pool.worker_exited(slot);
            assert!(!report.broke, "worker {slot} exited holding records");
            dispatch(report.dispatch, threads);
        }
        if woken.swap(false, Ordering::SeqCst) {
            drains += 1;
            for c in pool.drain_completions() {
                assert_eq!(c.status, Status::Done);
                assert_eq!(c.data, items_of[&c.id].1, "outcome of record {} carries its payload", c.id);
                assert!(completed.insert(c.id), "record {} completed twice", c.id);
            }
        }
    };

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for i in 0..RECORDS {
        let items = 1 + i % 3;
        let data = i.to_le_bytes().to_vec();
        let (id, d) = pool.submit(Payload { func: 0, items, kind: 0, data: data.clone(), blocks: vec![] }).unwrap();
        items_of.insert(id, (items, data));
        dispatch(d, &mut threads);
        if rng.below(4) == 0 {
            let victim = 1 + rng.below(id);
            if pool.cancel(victim) {
                cancelled.insert(victim);
            }
        }
        if i % 64 == 0 {
            service(&pool, &mut threads, &mut completed, &items_of);
        }
    }

    for slot in pool.shutdown(false).wake {
        doorbells[slot as usize].ring();
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while pool.stats().workers > 0 {
        assert!(Instant::now() < deadline, "workers did not finish: {:?}", pool.stats());
        service(&pool, &mut threads, &mut completed, &items_of);
        thread::sleep(Duration::from_micros(200));
    }
    // No lost wake-up: whatever is still queued must have rung the waker.
    service(&pool, &mut threads, &mut completed, &items_of);
    assert!(pool.drain_completions().is_empty(), "completions were left without a wake-up");
    for t in threads {
        t.join().unwrap();
    }

    assert!(cancelled.is_disjoint(&completed), "a record both cancelled and completed");
    assert_eq!(cancelled.len() + completed.len(), RECORDS as usize, "every record accounted for");
    let completed_items: u64 = completed.iter().map(|id| u64::from(items_of[id].0)).sum();
    let stats = pool.stats();
    assert_eq!(stats, Stats { workers: 0, idle: 0, queued: 0, running: 0, completed: completed_items });
    assert!(wakes.load(Ordering::SeqCst) <= drains + 1, "more than one wake-up per drain");
    assert!(!cancelled.is_empty() && !completed.is_empty());
}

// ---- `map` jobs: one JSON array, cut into ranges at take time ----

use concurrent_futures_core::json::split_array;
use concurrent_futures_core::scheduler::{batch_size, ChunkPlanner, BATCH_BUDGET_NS, MAX_ITEMS};

/// The JSON text of the numbers `first..first + items`: a job of the numbers `0..n` is
/// `numbers(0, n)`, and its range of items `a..b` must be exactly `numbers(a, b - a)`.
fn numbers(first: usize, items: usize) -> Vec<u8> {
    let list: Vec<String> = (first..first + items).map(|i| i.to_string()).collect();
    format!("[{}]", list.join(",")).into_bytes()
}

/// Submits a job of the numbers `0..n` (function 0, kind 1).
fn submit_numbers(pool: &Pool, n: usize) -> (TaskId, Vec<Dispatch>) {
    pool.submit_job(0, 1, numbers(0, n)).expect("an array").expect("submit accepted")
}

fn work(take: Take) -> Vec<Taken> {
    match take {
        Take::Work(batch) => batch,
        other => panic!("expected work, got {other:?}"),
    }
}

/// The one range of a take from a single job: `(first item, items)`, checking that its text is
/// exactly the JSON of those numbers.
fn only_range(batch: &[Taken]) -> (usize, usize) {
    assert_eq!(batch.len(), 1, "one range from one job: {batch:?}");
    range_of(&batch[0])
}

/// `(first item, items)` of a range of a numbers job, checking its text and its item count.
fn range_of(range: &Payload) -> (usize, usize) {
    let text = std::str::from_utf8(&range.data).unwrap();
    let first: usize = text[1..].split([',', ']']).next().unwrap().parse().unwrap_or_else(|_| panic!("{text}"));
    let items = range.items as usize;
    assert_eq!(range.data, numbers(first, items), "the range text is its items, and only them");
    (first, items)
}

/// Completes a batch, echoing each payload as its outcome.
fn echo(pool: &Pool, slot: Slot, batch: &[Taken]) {
    claim_rest(pool, slot, batch.len());
    pool.complete(slot, batch.iter().map(|p| (p.kind, p.data.clone())).collect());
}

/// A completion as `(id, first item, items, status)`.
fn span(c: &Completion) -> (TaskId, u32, u32, Status) {
    (c.id, c.first_item, c.items, c.status)
}

#[test]
fn job_ranges_cover_every_item_once_in_take_order() {
    const N: usize = 1_000;
    let pool = pool(2);
    let (job, _) = submit_numbers(&pool, N);
    // Two workers alternate, with unknown, cheap, budget-bound and slow measured costs.
    let costs = [0, 1_000, 30_000, 0, 7, 200_000, 2_500, 90];
    let mut next = 0;
    let mut takes = 0;
    loop {
        let slot = (takes % 2) as Slot;
        match pool.take(slot, costs[takes % costs.len()]) {
            Take::Work(batch) => {
                let (first, items) = only_range(&batch);
                assert_eq!((batch[0].func, batch[0].kind), (0, 1), "a range carries the job's function and kind");
                assert_eq!(first, next, "contiguous, in take order");
                assert!(items >= 1);
                next += items;
                echo(&pool, slot, &batch);
            }
            Take::Idle => break,
            Take::Exit => panic!("exit with work queued"),
        }
        takes += 1;
    }
    assert_eq!(next, N, "the job ran dry only after its last item");
    assert!(takes > 2, "the job was cut into several ranges");

    let done = pool.drain_completions();
    assert_eq!(done.len(), takes);
    let mut expected_first = 0u32;
    for c in &done {
        assert_eq!((c.id, c.status, c.kind), (job, Status::Done, 1));
        assert_eq!(c.first_item, expected_first, "ranges complete contiguous and in order");
        assert_eq!(c.data, numbers(c.first_item as usize, c.items as usize));
        expected_first += c.items;
    }
    assert_eq!(expected_first as usize, N);
    assert_eq!(pool.stats(), Stats { workers: 2, idle: 1, queued: 0, running: 0, completed: N as u64 });
}

#[test]
fn ranges_of_any_json_items_parse_back_as_exactly_those_items() {
    let text = r#" [ {"a":[1,2],"b":"]"} , "x,y",[3,[4]] ,"q\"]", null,-1.5e3 ,"\\",{} ,true ] "#;
    let all: Vec<&str> = split_array(text.as_bytes()).unwrap().iter().map(|&(s, e)| &text[s as usize..e as usize]).collect();
    assert_eq!(all.len(), 9);
    let pool = pool(1);
    let (job, _) = pool.submit_job(3, 2, text.as_bytes().to_vec()).unwrap().unwrap();
    let mut seen: Vec<String> = Vec::new();
    for cost in [0, 100_000, 1, 1, 1, 1, 1, 1, 1] {
        let Take::Work(batch) = pool.take(0, cost) else { break };
        let range = std::str::from_utf8(&batch[0].data).unwrap().to_owned();
        let items: Vec<&str> = split_array(range.as_bytes()).expect("a range is an array").iter().map(|&(s, e)| &range[s as usize..e as usize]).collect();
        assert_eq!(items, all[seen.len()..seen.len() + items.len()], "range {range}");
        assert_eq!(batch[0].items as usize, items.len());
        seen.extend(items.iter().map(|s| s.to_string()));
        echo(&pool, 0, &batch);
    }
    assert_eq!(seen, all);
    assert_eq!(pool.take(0, 1), Take::Idle);
    assert!(pool.drain_completions().iter().all(|c| c.id == job && c.kind == 2));
}

#[test]
fn first_take_of_a_job_with_unknown_cost_is_one_item() {
    let pool = pool(2);
    let (job, _) = submit_numbers(&pool, 100);
    let first = work(pool.take(0, 0));
    assert_eq!(only_range(&first), (0, 1), "nothing measured: one item, to measure");
    assert_eq!(first[0].data, b"[0]");
    echo(&pool, 0, &first);

    // Now 1 µs per item: min(budget 200, fair share ⌈99 / (2 workers × 2)⌉ = 25).
    let second = work(pool.take(0, 1_000));
    assert_eq!(only_range(&second), (1, 25));
    assert_eq!(batch_size(1_000, 99, 2), 25);
    // Another worker that has measured nothing gets the function's measured cost, not one item.
    let third = work(pool.take(1, 0));
    assert_eq!(only_range(&third), (26, batch_size(1_000, 74, 2)));
    assert_eq!(only_range(&third), (26, 19));
    echo(&pool, 0, &second);
    echo(&pool, 1, &third);
    let done = pool.drain_completions();
    assert_eq!(done.iter().map(span).collect::<Vec<_>>(), [(job, 0, 1, Status::Done), (job, 1, 25, Status::Done), (job, 26, 19, Status::Done)]);
}

#[test]
fn range_sizes_follow_batch_size_and_never_exceed_max_items() {
    // (items, measured cost per item, workers that take in turn)
    for (n, cost, workers) in [(10_000usize, 1u64, 1usize), (20_000, 1, 2), (1_000, 50_000, 1), (3_000, 700, 3), (50, 2_000_000, 2)] {
        let pool = pool(workers);
        let (job, dispatches) = submit_numbers(&pool, n);
        assert_eq!(dispatches.len(), workers);
        pool.measure(0, cost);
        let mut next = 0;
        let mut sizes = Vec::new();
        for take in 0.. {
            let slot = (take % workers) as Slot;
            let queued = pool.stats().queued;
            assert_eq!(queued, n - next);
            match pool.take(slot, cost) {
                Take::Work(batch) => {
                    let (first, items) = only_range(&batch);
                    assert_eq!(first, next);
                    assert_eq!(items, batch_size(cost, queued, workers), "job {n}×{cost}ns, {queued} queued");
                    assert!((1..=MAX_ITEMS).contains(&items));
                    assert!(items as u64 <= (BATCH_BUDGET_NS / cost).max(1), "within the time budget");
                    assert!(items <= queued.div_ceil(2 * workers), "leaves a fair share to the others");
                    next += items;
                    sizes.push(items);
                    echo(&pool, slot, &batch);
                }
                Take::Idle => break,
                Take::Exit => panic!("exit"),
            }
        }
        assert_eq!(next, n);
        assert_eq!(sizes.last(), Some(&1), "the tail is spread item by item: {sizes:?}");
        assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "ranges never grow under a fixed cost: {sizes:?}");
        let done = pool.drain_completions();
        assert!(done.iter().all(|c| c.id == job));
        assert_eq!(done.iter().map(|c| c.items as usize).collect::<Vec<_>>(), sizes);
    }
    // The cap itself: one worker, cheap items, much more queued than 2 × MAX_ITEMS.
    let pool = pool(1);
    submit_numbers(&pool, 10_000);
    pool.measure(0, 1);
    assert_eq!(only_range(&work(pool.take(0, 1))), (0, MAX_ITEMS));
}

#[test]
fn one_batch_may_hold_ranges_of_several_jobs_and_records() {
    let pool = pool(1);
    let (a, _) = submit_numbers(&pool, 2);
    let (b, _) = submit_numbers(&pool, 3);
    let (r, _) = submit(&pool, 9);
    // 6 queued items, 1 worker, cheap: a batch of 3 items, taken across the entries in order.
    pool.measure(0, 1);
    let batch = work(pool.take(0, 1));
    assert_eq!(batch.iter().map(|p| range_of(p)).collect::<Vec<_>>(), [(0, 2), (0, 1)]);
    echo(&pool, 0, &batch);
    assert_eq!(pool.stats().queued, 3);
    // 3 queued: ⌈3 / 2⌉ = 2 items, the rest of b; the record comes next.
    let batch = work(pool.take(0, 1));
    assert_eq!(only_range(&batch), (1, 2));
    echo(&pool, 0, &batch);
    assert_eq!(tags(pool.take(0, 1)), [9]);
    pool.complete(0, vec![(0, vec![9])]);
    let done = pool.drain_completions();
    assert_eq!(
        done.iter().map(span).collect::<Vec<_>>(),
        [(a, 0, 2, Status::Done), (b, 0, 1, Status::Done), (b, 1, 2, Status::Done), (r, 0, 1, Status::Done)]
    );
    assert_eq!(done[2].data, b"[1,2]");
}

#[test]
fn cancel_job_returns_the_untaken_items_and_running_ranges_still_complete() {
    let pool = pool(2);
    let (before, _) = submit(&pool, 1);
    let (job, _) = submit_numbers(&pool, 10);
    let (after, _) = submit(&pool, 2);
    // Slot 0: the record (unknown cost: one item). Slot 1: ⌈11 / 4⌉ = 3 items, the record and
    // the first two of the job.
    assert_eq!(tags(pool.take(0, 0)), [1]);
    pool.measure(0, 1_000);
    let held = work(pool.take(1, 1_000));
    assert_eq!(held.len(), 1);
    assert_eq!(range_of(&held[0]), (0, 3));
    assert_eq!(pool.stats().queued, 8);

    assert_eq!(pool.cancel_job(job), 7, "items 3..10 were never taken");
    assert_eq!(pool.stats().queued, 1, "only the record after the job is left");
    assert_eq!(pool.cancel_job(job), 0, "already cancelled");
    assert_eq!(pool.cancel_job(after), 0, "a plain record is not a job");
    assert_eq!(pool.cancel_job(999), 0, "unknown id");
    assert!(!pool.cancel(job), "a job is cancelled with cancel_job only");

    pool.complete(0, vec![(0, vec![1])]);
    echo(&pool, 1, &held);
    assert_eq!(tags(pool.take(0, 1_000)), [2], "the record behind the cancelled job still runs");
    pool.complete(0, vec![(0, vec![2])]);
    assert_eq!((pool.take(0, 0), pool.take(1, 0)), (Take::Idle, Take::Idle), "no more ranges");
    let done = pool.drain_completions();
    assert_eq!(
        done.iter().map(span).collect::<Vec<_>>(),
        [(before, 0, 1, Status::Done), (job, 0, 3, Status::Done), (after, 0, 1, Status::Done)]
    );
    assert_eq!(pool.stats(), Stats { workers: 2, idle: 2, queued: 0, running: 0, completed: 5 });
}

#[test]
fn cancel_job_of_a_fully_taken_job_is_zero() {
    let pool = pool(1);
    let (job, _) = submit_numbers(&pool, 3);
    pool.measure(0, 1);
    let batch = work(pool.take(0, 1));
    assert_eq!(only_range(&batch), (0, 2));
    let batch2 = {
        echo(&pool, 0, &batch);
        work(pool.take(0, 1))
    };
    assert_eq!(only_range(&batch2), (2, 1));
    assert_eq!(pool.cancel_job(job), 0, "every item is taken; the last one still runs");
    echo(&pool, 0, &batch2);
    assert_eq!(pool.drain_completions().iter().map(|c| c.items).sum::<u32>(), 3);
}

#[test]
fn shutdown_with_cancel_reports_the_untaken_rest_of_each_job() {
    let pool = pool(1);
    let (a, _) = submit_numbers(&pool, 5);
    let (r, _) = submit(&pool, 7);
    let (b, _) = submit_numbers(&pool, 3);
    let (empty, dispatches) = submit_numbers(&pool, 0);
    assert!(dispatches.is_empty());
    let held = work(pool.take(0, 0));
    assert_eq!(only_range(&held), (0, 1));

    let report = pool.shutdown(true);
    assert_eq!(report.cancelled, [r]);
    assert_eq!(report.cancelled_ranges, [(a, 1, 4), (b, 0, 3)], "(job, first untaken item, items); nothing for {empty}");
    assert_eq!(pool.stats().queued, 0);
    assert_eq!(pool.stats().running, 1);
    assert_eq!(pool.cancel_job(a), 0, "already cancelled by the shutdown");
    assert_eq!(pool.submit_job(0, 1, numbers(0, 2)), Some(Err(SubmitError::Shutdown)));

    echo(&pool, 0, &held);
    assert_eq!(pool.take(0, 0), Take::Exit);
    assert_eq!(pool.drain_completions().iter().map(span).collect::<Vec<_>>(), [(a, 0, 1, Status::Done)]);
}

#[test]
fn shutdown_without_cancel_lets_a_job_run_to_its_end() {
    let pool = pool(1);
    let (job, _) = submit_numbers(&pool, 4);
    let report = pool.shutdown(false);
    assert!(report.cancelled_ranges.is_empty());
    let mut next = 0;
    loop {
        match pool.take(0, 1) {
            Take::Work(batch) => {
                let (first, items) = only_range(&batch);
                assert_eq!(first, next);
                next += items;
                echo(&pool, 0, &batch);
            }
            Take::Exit => break,
            Take::Idle => panic!("a shut-down pool with nothing queued exits its workers"),
        }
    }
    assert_eq!(next, 4);
    assert!(pool.drain_completions().iter().all(|c| c.id == job));
}

#[test]
fn worker_dying_with_a_range_fails_it_and_the_untaken_rest() {
    let (pool, wakes) = counted_pool(2, None);
    let (job, _) = submit_numbers(&pool, 10);
    let (r, _) = submit(&pool, 5);
    // 11 items queued, 2 workers, 1 µs: ⌈11 / 4⌉ = 3 items for slot 0, which will die.
    pool.measure(0, 1_000);
    let held = work(pool.take(0, 1_000));
    assert_eq!(only_range(&held), (0, 3));
    // Nothing measured yet for function 0 (slot 0 has not reported): slot 1 takes one item.
    pool.measure(0, 0); // as if not measured yet
    let done_range = work(pool.take(1, 0));
    assert_eq!(only_range(&done_range), (3, 1));
    echo(&pool, 1, &done_range);

    let report = pool.worker_exited(0);
    assert!(report.broke);
    assert!(pool.is_broken());
    assert_eq!(wakes.load(Ordering::SeqCst), 1, "one wake-up for the done range and the failures");
    let done = pool.drain_completions();
    assert_eq!(
        done.iter().map(span).collect::<Vec<_>>(),
        [(job, 3, 1, Status::Done), (job, 0, 3, Status::Broken), (job, 4, 6, Status::Broken), (r, 0, 1, Status::Broken)]
    );
    assert!(done[1..].iter().all(|c| c.data.is_empty()));
    assert_eq!(pool.stats(), Stats { workers: 1, idle: 0, queued: 0, running: 0, completed: 1 });
    assert_eq!(pool.submit_job(0, 1, numbers(0, 2)), Some(Err(SubmitError::Broken)));
    assert_eq!(pool.cancel_job(job), 0, "the broken pool failed the rest already");

    echo(&pool, 0, &held); // a late report from the dead worker's slot
    assert_eq!(pool.take(1, 0), Take::Exit);
    assert!(pool.drain_completions().is_empty(), "late outcomes are dropped");
}

#[test]
fn break_pool_fails_held_ranges_of_live_workers() {
    let pool = pool(2);
    let (job, _) = submit_numbers(&pool, 6);
    let first = work(pool.take(0, 0));
    let second = work(pool.take(1, 0));
    assert_eq!((only_range(&first), only_range(&second)), ((0, 1), (1, 1)));
    pool.break_pool(true);
    echo(&pool, 0, &first);
    echo(&pool, 1, &second);
    let done = pool.drain_completions();
    assert_eq!(
        done.iter().map(span).collect::<Vec<_>>(),
        [(job, 0, 1, Status::Broken), (job, 1, 1, Status::Broken), (job, 2, 4, Status::Broken)]
    );
    assert_eq!(pool.stats().completed, 0);
}

#[test]
fn stats_count_the_items_of_jobs() {
    let pool = pool(2);
    let (job, _) = submit_numbers(&pool, 20);
    let (three, _) = pool.submit(items_payload(1, 3)).unwrap();
    assert_eq!(pool.stats(), Stats { workers: 2, idle: 0, queued: 23, running: 0, completed: 0 });
    pool.measure(0, 1_000);
    let a = work(pool.take(0, 1_000)); // ⌈23 / 4⌉ = 6 items
    assert_eq!(only_range(&a), (0, 6));
    assert_eq!(pool.stats(), Stats { workers: 2, idle: 0, queued: 17, running: 6, completed: 0 });
    // Slot 0's cost is recorded for the function only at its next take: slot 1 takes one item.
    pool.measure(0, 0); // as if not measured yet
    let b = work(pool.take(1, 0));
    assert_eq!(only_range(&b), (6, 1));
    assert_eq!(pool.stats(), Stats { workers: 2, idle: 0, queued: 16, running: 7, completed: 0 });
    echo(&pool, 0, &a);
    assert_eq!(pool.stats(), Stats { workers: 2, idle: 0, queued: 16, running: 1, completed: 6 });
    assert_eq!(pool.cancel_job(job), 13);
    assert_eq!(pool.stats(), Stats { workers: 2, idle: 0, queued: 3, running: 1, completed: 6 });
    echo(&pool, 1, &b);
    assert_eq!(tags(pool.take(0, 1_000)), [1], "⌈3 / 4⌉ = 1 record of 3 items");
    assert_eq!(pool.stats(), Stats { workers: 2, idle: 0, queued: 0, running: 3, completed: 7 });
    pool.complete(0, vec![(0, vec![])]);
    assert_eq!(pool.stats(), Stats { workers: 2, idle: 0, queued: 0, running: 0, completed: 10 });
    assert_eq!(pool.drain_completions().last().map(|c| c.id), Some(three));
}

#[test]
fn submit_job_of_what_is_not_an_array_is_none() {
    let pool = pool(2);
    for text in ["", "1", "{}", "[", "[1,", "[1,]", "[1]x", "\"[1]\""] {
        assert_eq!(pool.submit_job(0, 1, text.as_bytes().to_vec()), None, "{text:?}");
    }
    assert_eq!(pool.stats(), Stats::default(), "nothing queued, no worker started");
    assert_eq!(submit(&pool, 1).0, 1, "a refused text uses no id");
}

#[test]
fn submit_job_of_an_empty_array_has_an_id_and_no_dispatch() {
    let pool = pool(2);
    let (job, dispatches) = pool.submit_job(0, 1, b" [ ] ".to_vec()).unwrap().unwrap();
    assert_eq!((job, dispatches), (1, vec![]));
    assert_eq!(pool.stats(), Stats::default());
    assert_eq!(pool.cancel_job(job), 0);
    let (next, dispatch) = submit(&pool, 1);
    assert_eq!((next, dispatch), (2, Dispatch::Spawn(0)), "ids stay sequential; the first worker starts now");
    assert_eq!(tags(pool.take(0, 0)), [1]);
    pool.complete(0, vec![(0, vec![1])]);
    assert_eq!(ids(&pool.drain_completions()), [next], "the empty job completes nothing");
}

#[test]
fn submit_job_dispatches_a_worker_per_item_up_to_the_limit() {
    let pool = pool(3);
    let (_, dispatches) = submit_numbers(&pool, 10);
    assert_eq!(dispatches, [Dispatch::Spawn(0), Dispatch::Spawn(1), Dispatch::Spawn(2)]);
    assert_eq!(submit_numbers(&pool, 10).1, [], "every worker is starting");

    let pool = self::pool(3);
    assert_eq!(submit_numbers(&pool, 2).1, [Dispatch::Spawn(0), Dispatch::Spawn(1)], "two items, two workers");
    let (a, b) = (work(pool.take(0, 0)), work(pool.take(1, 0)));
    echo(&pool, 0, &a);
    echo(&pool, 1, &b);
    assert_eq!((pool.take(0, 0), pool.take(1, 0)), (Take::Idle, Take::Idle));
    assert_eq!(submit_numbers(&pool, 1).1, [Dispatch::Wake(1)], "one item wakes one worker");
    let pool = self::pool(3);
    submit_numbers(&pool, 2);
    let (a, b) = (work(pool.take(0, 0)), work(pool.take(1, 0)));
    echo(&pool, 0, &a);
    echo(&pool, 1, &b);
    assert_eq!((pool.take(0, 0), pool.take(1, 0)), (Take::Idle, Take::Idle));
    assert_eq!(
        submit_numbers(&pool, 10).1,
        [Dispatch::Wake(1), Dispatch::Wake(0), Dispatch::Spawn(2)],
        "idle workers first, then new ones"
    );
}

#[test]
fn plan_chunks_sums_to_the_total() {
    for workers in [1, 2, 3, 8] {
        let pool = pool(workers);
        for total in [0usize, 1, 2, 3, 7, 64, 1_000, 12_345, 100_000, 1_000_003] {
            let plan = pool.plan_chunks(total, 0);
            assert_eq!(plan.iter().sum::<usize>(), total, "{workers} workers, {total} items");
            assert!(plan.iter().all(|&n| (1..=ChunkPlanner::MAX_CHUNK).contains(&n)), "{plan:?}");
            assert_eq!(plan, ChunkPlanner::new(workers).plan(total, 0), "not measured: one item each");
        }
    }
    assert!(pool(2).plan_chunks(0, 0).is_empty());
}

/// What the main thread knows of a submitted `map` job in the stress test below.
struct JobBook {
    /// The job's items are the numbers `base..base + n`.
    base: usize,
    n: usize,
    /// Delivered ranges `(first item, items)`, as completed.
    delivered: Vec<(usize, usize)>,
    /// Items reported cancelled, by `cancel_job` and by `shutdown`.
    cancelled: usize,
    /// `shutdown`'s `(first untaken item, items)` for this job, if it had any left.
    shut: Option<(usize, usize)>,
}

/// The stress test's worker threads; each returns the ranges it took, in its take order, as
/// `(first number, items)`.
type WorkerThreads = Vec<thread::JoinHandle<Vec<(usize, usize)>>>;

/// Item numbers are `job index × JOB_STRIDE + item`, so a range's text names its job.
const JOB_STRIDE: usize = 10_000;

#[test]
fn stress_job_items_are_delivered_once_or_cancelled() {
    for round in 0..9u64 {
        let workers = 2 + (round % 3) as usize;
        stress_jobs_round(0xD1B5_4A32_D192_ED03 ^ (round + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15), workers);
    }
}

fn stress_jobs_round(seed: u64, workers: usize) {
    const JOBS: usize = 24;
    const RECORDS: usize = 3_000;
    // Costs a worker reports, per take: unknown, cheap (fair share bound) to slow (one by one).
    const COSTS: [u64; 9] = [0, 0, 1, 50, 400, 3_000, 20_000, 150_000, 1_000_000];

    let woken = Arc::new(AtomicBool::new(false));
    let pool = {
        let woken = Arc::clone(&woken);
        // Recycling exercises worker_exited → Spawn with ranges in flight.
        let pool = Pool::new(workers, Some(150), Box::new(move || woken.store(true, Ordering::SeqCst)));
        Arc::new(pool.with_linger(LINGER, 1))
    };
    let doorbells: Arc<Vec<Doorbell>> = Arc::new((0..workers).map(|_| Doorbell::default()).collect());
    let (exit_tx, exits) = mpsc::channel::<Slot>();
    let mut threads: WorkerThreads = Vec::new();
    let mut spawned = 0u64;
    let mut spawn = |slot: Slot, threads: &mut WorkerThreads| {
        spawned += 1;
        let (pool, doorbells, exit_tx) = (Arc::clone(&pool), Arc::clone(&doorbells), exit_tx.clone());
        let mut rng = Rng(seed ^ spawned.wrapping_mul(0xA24B_AED4_963E_E407) | 1);
        threads.push(thread::spawn(move || {
            let mut taken = Vec::new();
            loop {
                match pool.take(slot, COSTS[rng.below(COSTS.len() as u64) as usize]) {
                    Take::Work(batch) => {
                        for p in batch.iter().filter(|p| p.kind == 1) {
                            let text = std::str::from_utf8(&p.data).unwrap();
                            let first: usize = text[1..].split([',', ']']).next().unwrap().parse().unwrap();
                            taken.push((first, p.items as usize));
                        }
                        if rng.below(8) == 0 {
                            thread::yield_now(); // let the main thread cancel while ranges run
                        }
                        claim_rest(&pool, slot, batch.len());
                        pool.complete(slot, batch.into_iter().map(|p| (p.kind, p.data.clone())).collect());
                    }
                    Take::Idle => doorbells[slot as usize].wait(),
                    Take::Exit => break,
                }
            }
            exit_tx.send(slot).unwrap();
            taken
        }));
    };
    let mut dispatch = |d: Dispatch, threads: &mut WorkerThreads| match d {
        Dispatch::Nothing | Dispatch::Claimed(_) => {}
        Dispatch::Wake(slot) => doorbells[slot as usize].ring(),
        Dispatch::Spawn(slot) => spawn(slot, threads),
    };

    let mut jobs: HashMap<TaskId, JobBook> = HashMap::new();
    let mut job_ids: Vec<TaskId> = Vec::new();
    let mut records: HashMap<TaskId, (u32, Vec<u8>)> = HashMap::new();
    let mut cancelled_records = HashSet::new();
    let mut completed_records = HashSet::new();
    let service = |pool: &Pool,
                   threads: &mut WorkerThreads,
                   dispatch: &mut dyn FnMut(Dispatch, &mut WorkerThreads),
                   jobs: &mut HashMap<TaskId, JobBook>,
                   records: &HashMap<TaskId, (u32, Vec<u8>)>,
                   completed_records: &mut HashSet<TaskId>| {
        while let Ok(slot) = exits.try_recv() {
            let report = pool.worker_exited(slot);
            assert!(!report.broke, "worker {slot} exited holding a batch");
            dispatch(report.dispatch, threads);
        }
        if woken.swap(false, Ordering::SeqCst) {
            for c in pool.drain_completions() {
                assert_eq!(c.status, Status::Done);
                if let Some(job) = jobs.get_mut(&c.id) {
                    let (first, items) = (c.first_item as usize, c.items as usize);
                    assert!(items >= 1 && first + items <= job.n, "range {first}+{items} of a job of {}", job.n);
                    assert!(items <= MAX_ITEMS);
                    assert_eq!(c.data, numbers(job.base + first, items), "job {} range {first}+{items}", c.id);
                    job.delivered.push((first, items));
                } else {
                    let (items, data) = &records[&c.id];
                    assert_eq!((c.first_item, c.items, &c.data), (0, *items, data), "record {}", c.id);
                    assert!(completed_records.insert(c.id), "record {} completed twice", c.id);
                }
            }
        }
    };

    let mut rng = Rng(seed);
    let steps = JOBS + RECORDS;
    let mut jobs_left = JOBS;
    for step in 0..steps {
        // Jobs spread among the records: the chance of a job is what is left of them.
        if rng.below((steps - step) as u64) < jobs_left as u64 {
            let index = JOBS - jobs_left;
            jobs_left -= 1;
            let n = 1 + rng.below(5_000) as usize;
            let func = rng.below(2) as u32;
            let text = numbers(index * JOB_STRIDE, n);
            let (id, dispatches) = pool.submit_job(func, 1, text).unwrap().unwrap();
            for d in dispatches {
                dispatch(d, &mut threads);
            }
            jobs.insert(id, JobBook { base: index * JOB_STRIDE, n, delivered: Vec::new(), cancelled: 0, shut: None });
            job_ids.push(id);
        } else {
            let items = 1 + rng.below(3) as u32;
            let data = format!("r{step}").into_bytes();
            let (id, d) = pool.submit(Payload { func: 2, items, kind: 0, data: data.clone(), blocks: vec![] }).unwrap();
            records.insert(id, (items, data));
            dispatch(d, &mut threads);
            if rng.below(16) == 0 {
                let victim = 1 + rng.below(id);
                if records.contains_key(&victim) && pool.cancel(victim) {
                    cancelled_records.insert(victim);
                }
            }
        }
        if !job_ids.is_empty() && rng.below(12) == 0 {
            // Mostly a job seen partly delivered, which the workers are likely to be cutting now;
            // sometimes any job (queued, running, done or cancelled already).
            let started = job_ids.iter().copied().find(|id| {
                let job = &jobs[id];
                !job.delivered.is_empty() && job.cancelled == 0 && job.delivered.iter().map(|r| r.1).sum::<usize>() < job.n
            });
            let victim = match started {
                Some(id) if rng.below(4) != 0 => Some(id),
                _ if rng.below(5) == 0 => Some(job_ids[rng.below(job_ids.len() as u64) as usize]),
                _ => None,
            };
            if let Some(victim) = victim {
                jobs.get_mut(&victim).unwrap().cancelled += pool.cancel_job(victim);
            }
        }
        if rng.below(200) == 0 {
            thread::sleep(Duration::from_micros(100)); // let the workers get into the jobs
        }
        if step % 32 == 0 {
            service(&pool, &mut threads, &mut dispatch, &mut jobs, &records, &mut completed_records);
        }
    }

    let report = pool.shutdown(true);
    for &(id, next, remaining) in &report.cancelled_ranges {
        let job = jobs.get_mut(&id).expect("a job");
        assert!(job.shut.is_none(), "job {id} reported twice");
        assert_eq!(next as usize + remaining as usize, job.n, "shutdown cancels the untaken tail of job {id}");
        assert!(remaining > 0);
        job.cancelled += remaining as usize;
        job.shut = Some((next as usize, remaining as usize));
    }
    for &id in &report.cancelled {
        assert!(records.contains_key(&id) && cancelled_records.insert(id), "record {id}");
    }
    for slot in report.wake {
        doorbells[slot as usize].ring();
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while pool.stats().workers > 0 {
        assert!(Instant::now() < deadline, "workers did not finish: {:?}", pool.stats());
        service(&pool, &mut threads, &mut dispatch, &mut jobs, &records, &mut completed_records);
        thread::sleep(Duration::from_micros(200));
    }
    service(&pool, &mut threads, &mut dispatch, &mut jobs, &records, &mut completed_records);
    assert!(pool.drain_completions().is_empty(), "completions were left without a wake-up");
    let logs: Vec<Vec<(usize, usize)>> = threads.into_iter().map(|t| t.join().unwrap()).collect();

    // Every worker took each job's ranges in increasing order, and all of them were delivered.
    let mut taken_by_workers: Vec<(usize, usize)> = Vec::new();
    for log in &logs {
        let mut last: HashMap<usize, usize> = HashMap::new();
        for &(first, items) in log {
            let (job, item) = (first / JOB_STRIDE, first % JOB_STRIDE);
            if let Some(previous_end) = last.insert(job, item + items) {
                assert!(item >= previous_end, "a worker took job {job} at {item} after taking up to {previous_end}");
            }
            taken_by_workers.push((first, items));
        }
    }
    let mut delivered_numbers: Vec<(usize, usize)> =
        jobs.values().flat_map(|job| job.delivered.iter().map(|&(first, items)| (job.base + first, items))).collect();
    taken_by_workers.sort_unstable();
    delivered_numbers.sort_unstable();
    assert_eq!(taken_by_workers, delivered_numbers, "every taken range completed once, and only those");

    let mut delivered_items = 0;
    let (mut partly_cancelled, mut untouched_cancelled) = (0, 0);
    for (id, job) in &mut jobs {
        job.delivered.sort_unstable();
        // Delivered ranges are disjoint and form a prefix 0..k of the job, in order.
        let mut k = 0;
        for &(first, items) in &job.delivered {
            assert_eq!(first, k, "job {id}: a gap or an overlap at {first}: {:?}", job.delivered);
            k += items;
        }
        // ...and the cancelled items are exactly the rest k..n: each item once, never both.
        assert_eq!(k + job.cancelled, job.n, "job {id}: {k} delivered + {} cancelled", job.cancelled);
        if let Some((next, _)) = job.shut {
            assert_eq!(next, k, "job {id}: shutdown's first cancelled item ends the delivered prefix");
        }
        assert_eq!(pool.cancel_job(*id), 0);
        delivered_items += k;
        if job.cancelled > 0 {
            if k > 0 {
                partly_cancelled += 1;
            } else {
                untouched_cancelled += 1;
            }
        }
    }
    assert!(cancelled_records.is_disjoint(&completed_records), "a record both cancelled and completed");
    assert_eq!(cancelled_records.len() + completed_records.len(), records.len(), "every record accounted for");
    let record_items: u64 = completed_records.iter().map(|id| u64::from(records[id].0)).sum();
    assert_eq!(pool.stats(), Stats { workers: 0, idle: 0, queued: 0, running: 0, completed: delivered_items as u64 + record_items });
    eprintln!(
        "{workers} workers: {} items in {JOBS} jobs, {delivered_items} delivered, {partly_cancelled} jobs cut short, {untouched_cancelled} cancelled whole; {} of {} records cancelled",
        jobs.values().map(|j| j.n).sum::<usize>(),
        cancelled_records.len(),
        records.len()
    );
}

#[test]
fn a_worker_ending_mid_batch_reports_what_it_finished_and_its_exit_fails_the_rest() {
    let pool = pool(1);
    let records: Vec<TaskId> = (0..8).map(|tag| submit(&pool, tag).0).collect();
    pool.measure(0, 1);
    let batch = tags(pool.take_now(0, 1));
    let n = batch.len();
    assert!(n >= 2, "a batch of several records: {batch:?}");
    // Records before the last ran; the last called `process.exit`: the worker reports n - 1 outcomes.
    pool.complete(0, batch[..n - 1].iter().map(|&t| (0, vec![t])).collect());
    let done = pool.drain_completions();
    assert_eq!((ids(&done), done.iter().all(|c| c.status == Status::Done)), (records[..n - 1].to_vec(), true));
    assert!(pool.worker_exited(0).broke, "it died holding its last record");
    let broken = pool.drain_completions();
    assert_eq!(ids(&broken), records[n - 1..].to_vec(), "the dying record and every queued one");
    assert!(broken.iter().all(|c| c.status == Status::Broken));
}

#[test]
fn break_pool_without_failing_running_lets_running_records_finish() {
    let pool = pool(2);
    let (running, _) = submit(&pool, 1);
    let take = pool.take(0, 0);
    let (queued, _) = submit(&pool, 2);
    pool.break_pool(false);
    let failed = pool.drain_completions();
    assert_eq!((ids(&failed), failed[0].status), (vec![queued], Status::Broken));
    assert_eq!(run(&pool, 0, take), [1]);
    let done = pool.drain_completions();
    assert_eq!((ids(&done), done[0].status), (vec![running], Status::Done));
    assert_eq!(pool.take(0, 0), Take::Exit);
    assert!(matches!(pool.submit(payload(3)), Err(SubmitError::Broken)));
}

// Partial completion and stop: a `map` chunk or range whose items are slow completes them ahead
// of the rest; a cancelled run's running chunks skip the items they have not started.

#[test]
fn a_chunk_completes_in_parts_each_item_once_in_order() {
    let pool = pool(1);
    let (id, _) = pool.submit(items_payload(1, 5)).unwrap();
    let batch = work(pool.take(0, 0));
    assert_eq!(batch.len(), 1);
    pool.complete_part(0, 0, 2, (0, b"a".to_vec()));
    assert_eq!(pool.stats().running, 3);
    pool.complete_part(0, 0, 1, (0, b"b".to_vec()));
    pool.complete_part(0, 0, 9, (0, b"too many".to_vec())); // more than are left: ignored
    pool.complete_part(0, 1, 1, (0, b"no such record".to_vec()));
    pool.complete(0, vec![(0, b"c".to_vec())]);
    let done = pool.drain_completions();
    assert_eq!(done.iter().map(span).collect::<Vec<_>>(), [(id, 0, 2, Status::Done), (id, 2, 1, Status::Done), (id, 3, 2, Status::Done)]);
    assert_eq!(done.iter().map(|c| c.data.clone()).collect::<Vec<_>>(), [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    assert_eq!(pool.stats(), Stats { workers: 1, idle: 0, queued: 0, running: 0, completed: 5 });
}

#[test]
fn a_range_completed_in_parts_to_its_end_has_no_last_completion() {
    let pool = pool(1);
    let (job, _) = submit_numbers(&pool, 10);
    pool.measure(0, 1);
    let batch = work(pool.take(0, 1));
    let (first, items) = only_range(&batch);
    assert_eq!(first, 0);
    pool.complete_part(0, 0, items as u32, (0, b"all".to_vec()));
    pool.complete(0, vec![(0, b"[[],[]]".to_vec())]);
    let done = pool.drain_completions();
    assert_eq!(done.iter().map(span).collect::<Vec<_>>(), [(job, 0, items as u32, Status::Done)]);
}

#[test]
fn a_broken_pool_fails_only_the_items_not_completed_ahead() {
    let (pool, _) = counted_pool(1, None);
    let (id, _) = pool.submit(items_payload(1, 4)).unwrap();
    let _batch = work(pool.take(0, 0));
    pool.complete_part(0, 0, 3, (0, b"ahead".to_vec()));
    assert!(pool.worker_exited(0).broke);
    let done = pool.drain_completions();
    assert_eq!(done.iter().map(span).collect::<Vec<_>>(), [(id, 0, 3, Status::Done), (id, 3, 1, Status::Broken)]);
}

#[test]
fn stop_marks_the_running_records_of_a_run_and_names_their_workers() {
    let pool = pool(2);
    let (chunk, _) = pool.submit(items_payload(1, 3)).unwrap();
    let (job, _) = submit_numbers(&pool, 10);
    assert_eq!(tags(pool.take(0, 0)), [1]);
    let range = work(pool.take(1, 0));
    assert_eq!(only_range(&range), (0, 1));
    assert_eq!((pool.stopped(0), pool.stopped(1)), (vec![], vec![]));
    assert_eq!(pool.stop(chunk), [0]);
    assert_eq!(pool.stop(chunk), Vec::<Slot>::new(), "stopped once");
    assert_eq!(pool.stopped(0), [0]);
    assert_eq!(pool.cancel_job(job), 9);
    assert_eq!(pool.stop(job), [1], "a job's running ranges carry its id");
    assert_eq!(pool.stopped(1), [0]);
    // What they ran completes as usual; a new batch starts with nothing stopped.
    pool.complete(0, vec![(0, b"[[1],[]]".to_vec())]);
    pool.complete(1, vec![(0, b"[[0],[]]".to_vec())]);
    assert_eq!(pool.drain_completions().iter().map(span).collect::<Vec<_>>(), [(chunk, 0, 3, Status::Done), (job, 0, 1, Status::Done)]);
    assert_eq!(pool.stop(chunk), Vec::<Slot>::new(), "finished: nothing to stop");
    submit(&pool, 7);
    assert_eq!(tags(pool.take(0, 0)), [7]);
    assert_eq!(pool.stopped(0), Vec::<u32>::new());
}

#[test]
fn a_crashed_worker_fails_only_what_it_was_running_when_workers_are_replaced() {
    let pool = pool(1);
    let submitted: Vec<TaskId> = (1..=3).map(|tag| submit(&pool, tag).0).collect();
    let Take::Work(batch) = pool.take(0, 0) else { panic!("work expected") };
    assert!(!batch.is_empty());
    let report = pool.worker_exited_replacing(0);
    assert!(!report.broke && !pool.is_broken());
    assert_eq!(report.crashed, [(submitted[0], 0, 1)], "only the record it had started");
    assert_eq!(report.dispatch, Dispatch::Spawn(0), "a replacement, for the work left");
    assert_eq!(pool.state(submitted[0]), Some(State::Finished));
    assert!(pool.drain_completions().is_empty(), "the caller fails it with the crash");
    // What it had reserved and not started runs on the replacement, in order.
    let mut ran = Vec::new();
    while let Take::Work(batch) = pool.take(0, 0) {
        ran.extend(run(&pool, 0, Take::Work(batch)));
    }
    assert_eq!(ran, [2, 3]);
    assert_eq!(ids(&pool.drain_completions()), &submitted[1..]);
    assert_eq!(pool.stats().running, 0);
}

#[test]
fn a_worker_dying_while_starting_breaks_the_pool_even_when_workers_are_replaced() {
    let pool = pool(1);
    let (id, _) = submit(&pool, 1);
    let report = pool.worker_exited_replacing(0);
    assert!(report.broke && report.crashed.is_empty());
    assert_eq!(ids(&pool.drain_completions()), [id]);
}

#[test]
fn timing_counts_the_items_run_and_how_long_they_waited() {
    let pool = pool(1);
    assert_eq!(pool.timing().run.count, 0);
    for tag in 1..=3 {
        submit(&pool, tag);
    }
    std::thread::sleep(Duration::from_millis(5));
    let mut ran = Vec::new();
    while let Take::Work(batch) = pool.take(0, 0) {
        ran.extend(run(&pool, 0, Take::Work(batch)));
    }
    assert_eq!(ran, [1, 2, 3]);
    let timing = pool.timing();
    assert_eq!((timing.run.count, timing.wait.count), (3, 3));
    assert!(timing.wait.p50 >= 5.0, "each waited the 5 ms slept before the first take: {:?}", timing.wait);
    assert!(timing.utilization > 0.0 && timing.utilization <= 1.0);
}

#[test]
fn a_crashed_worker_fails_only_the_items_it_had_not_completed_ahead() {
    let pool = pool(1);
    let (id, _) = pool.submit(items_payload(1, 4)).unwrap();
    let _batch = work(pool.take(0, 0));
    pool.complete_part(0, 0, 1, (0, b"ahead".to_vec()));
    let report = pool.worker_exited_replacing(0);
    assert_eq!(report.crashed, [(id, 1, 3)]);
}

#[test]
fn stop_task_finds_the_worker_running_it_and_its_index_and_running_for_counts_from_its_start() {
    let pool = pool(1);
    let (id, _) = submit(&pool, 1);
    assert_eq!(pool.running_for(id), None, "pending");
    assert!(pool.stop_task(id).is_empty(), "not running anywhere");
    let _batch = work(pool.take(0, 0));
    std::thread::sleep(Duration::from_millis(3));
    assert!(pool.running_for(id).unwrap() >= Duration::from_millis(3));
    assert_eq!(pool.stop_task(id), [(0, 0)]);
    assert_eq!(pool.stopped(0), [0]);
}

#[test]
fn a_stopped_chunk_counts_only_the_items_it_ran_as_completed() {
    let pool = pool(1);
    let (id, _) = pool.submit(items_payload(1, 5)).unwrap();
    let _batch = work(pool.take(0, 0));
    assert_eq!(pool.stop(id), [0]);
    pool.complete_part(0, 0, 2, (0, b"two".to_vec()));
    pool.complete(0, vec![(concurrent_futures_core::frames::KIND_SKIPPED, Vec::new())]);
    let done = pool.drain_completions();
    let covered: Vec<_> = done.iter().map(|c| (c.first_item, c.items, c.status)).collect();
    assert_eq!(covered, [(0, 2, Status::Done), (2, 3, Status::Skipped)]);
    let stats = pool.stats();
    assert_eq!((stats.completed, stats.running), (2, 0), "the 3 items never run are not completed");
}

#[test]
fn a_record_that_may_be_stopped_travels_in_a_batch_of_its_own() {
    let pool = pool(1);
    pool.measure(0, 1);
    for tag in 0..3 {
        submit(&pool, tag);
    }
    pool.submit_batch_alone(vec![payload(3)]).expect("submit accepted");
    for tag in 4..6 {
        submit(&pool, tag);
    }
    // Ending the worker that runs record 3 then loses no outcome of another record.
    let mut batches = Vec::new();
    while let Take::Work(batch) = pool.take_now(0, 1) {
        let tags: Vec<u8> = batch.iter().map(|p| p.data[0]).collect();
        pool.complete(0, tags.iter().map(|&t| (0, vec![t])).collect());
        batches.push(tags);
    }
    assert_eq!(batches.concat(), [0, 1, 2, 3, 4, 5], "in order");
    assert!(batches.contains(&vec![3]), "record 3 alone: {batches:?}");
}

#[test]
fn a_child_that_exits_in_the_middle_of_its_batch_fails_that_record_alone_the_rest_go_back() {
    let pool = pool(1);
    pool.measure(0, 1);
    let submitted: Vec<TaskId> = (0..12).map(|tag| submit(&pool, tag).0).collect();
    // A child process is handed its whole batch as started (no `start_next`).
    let first = tags(pool.take_now(0, 1));
    assert!(first.len() >= 4, "a batch of several: {first:?}");
    // It ran records 0 and 1, and exited running record 2: its exit hook reports the two.
    pool.complete(0, vec![(0, vec![0]), (0, vec![1])]);
    let report = pool.worker_exited_replacing(0);
    assert_eq!(report.crashed, [(submitted[2], 0, 1)], "only the record it was running");
    assert_eq!(ids(&pool.drain_completions()), submitted[..2]);
    assert_eq!(report.dispatch, Dispatch::Spawn(0), "a replacement, for the work left");
    // The records it never began are queued again, in order, for the replacement.
    let mut rest = Vec::new();
    while let Take::Work(batch) = pool.take_now(0, 1) {
        let tags: Vec<u8> = batch.iter().map(|p| p.data[0]).collect();
        pool.complete(0, tags.iter().map(|&t| (0, vec![t])).collect());
        rest.extend(tags);
    }
    assert_eq!(rest, (3..12).collect::<Vec<u8>>());
    assert_eq!(ids(&pool.drain_completions()), submitted[3..]);
    assert_eq!(pool.stats().running, 0);
}
