#![cfg(not(loom))]
//! `Pool` through its public API, driven by hand from one thread (each call stands for the main
//! thread or a worker, as its doc says), plus a multi-threaded stress test.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use concurrent_futures_core::scheduler::LINGER;
use concurrent_futures_core::{Completion, Dispatch, Payload, Pool, Slot, State, Stats, Status, SubmitError, Take, TaskId};

fn payload(tag: u8) -> Payload {
    items_payload(tag, 1)
}

fn items_payload(tag: u8, items: u32) -> Payload {
    Payload { func: 0, items, kind: 0, data: vec![tag] }
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
fn run(pool: &Pool, slot: Slot, take: Take) -> Vec<u8> {
    let tags = tags(take);
    pool.complete(slot, tags.iter().map(|&t| (0, vec![t])).collect());
    tags
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
    // A measured cost of 1 µs per record asks for min(budget, fair share of 10) = 5 records.
    assert_eq!(run(&pool, 0, pool.take(0, 1_000)), [0, 1, 2, 3, 4]);
    let done = pool.drain_completions();
    assert_eq!(ids(&done), submitted[..5]);
    assert!(done.iter().zip(0u8..).all(|(c, tag)| c.status == Status::Done && c.data == [tag]));
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
    pool.break_pool();
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
    pool.break_pool();
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
                    Take::Work(batch) => pool.complete(slot, batch.into_iter().map(|p| (p.kind, p.data)).collect()),
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
        let (id, d) = pool.submit(Payload { func: 0, items, kind: 0, data: data.clone() }).unwrap();
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
