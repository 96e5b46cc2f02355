#![cfg(loom)]
//! Loom models of the pool's races. Run with
//! `RUSTFLAGS="--cfg loom" cargo test -p concurrent-futures-core --test loom --release`.
//!
//! Each model sets the pool up on the main thread, then races one or two threads against it, so
//! that loom explores every interleaving of only the operations under test.

use concurrent_futures_core::{Dispatch, Payload, Pool, ShutdownReport, TaskId, Take};
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

fn payload(tag: u8) -> Payload {
    Payload { func: 0, items: 1, kind: 0, data: vec![tag], blocks: vec![] }
}

fn quiet_pool(max_workers: usize) -> Arc<Pool> {
    Arc::new(Pool::new(max_workers, None, Box::new(|| {})))
}

fn tags(take: &Take) -> Vec<u8> {
    match take {
        Take::Work(batch) => batch.iter().map(|p| p.data[0]).collect(),
        _ => Vec::new(),
    }
}

/// Completes a batch, echoing each payload's tag as its outcome.
fn complete(pool: &Pool, slot: u32, take: &Take) -> Vec<u8> {
    let tags = tags(take);
    for i in 1..tags.len() {
        pool.start_next(slot, i);
    }
    pool.complete(slot, tags.iter().map(|&t| (0, vec![t])).collect());
    tags
}

#[test]
fn take_and_cancel_have_exactly_one_winner() {
    loom::model(|| {
        let pool = quiet_pool(1);
        let (id, _) = pool.submit(payload(1)).unwrap();

        let worker = thread::spawn({
            let pool = Arc::clone(&pool);
            move || pool.take(0, 0)
        });
        let cancelled = pool.cancel(id);
        let take = worker.join().unwrap();

        let ran = matches!(take, Take::Work(_));
        assert!(cancelled != ran, "cancelled={cancelled}, worker got {take:?}");
        if cancelled {
            assert_eq!(take, Take::Idle);
        }
        let stats = pool.stats();
        assert_eq!((stats.queued, stats.running), (0, usize::from(ran)));
    });
}

/// A pool whose waker counts rings, with two records taken by two workers that are now
/// completing them on their own threads.
struct TwoCompleting {
    pool: Arc<Pool>,
    rings: Arc<AtomicUsize>,
    ids: [TaskId; 2],
    workers: Vec<thread::JoinHandle<()>>,
}

fn two_completing_workers() -> TwoCompleting {
    let rings = Arc::new(AtomicUsize::new(0));
    let pool = Arc::new(Pool::new(2, None, Box::new({
        let rings = Arc::clone(&rings);
        move || {
            rings.fetch_add(1, Ordering::SeqCst);
        }
    })));
    let (a, _) = pool.submit(payload(1)).unwrap();
    let (b, _) = pool.submit(payload(2)).unwrap();
    let batches = [pool.take(0, 0), pool.take(1, 0)];
    let workers = batches
        .into_iter()
        .zip(0..)
        .map(|(batch, slot)| {
            let pool = Arc::clone(&pool);
            thread::spawn(move || {
                complete(&pool, slot, &batch);
            })
        })
        .collect();
    TwoCompleting { pool, rings, ids: [a, b], workers }
}

#[test]
fn concurrent_completions_are_each_delivered_once_without_a_lost_wake_up() {
    loom::model(|| {
        // The waker stands for the main thread's async handle: calls ring it, and each turn of
        // the event loop answers however many rings it finds with one drain.
        let TwoCompleting { pool, rings, ids: [a, b], workers } = two_completing_workers();

        let mut delivered: Vec<TaskId> = Vec::new();
        let mut turn = |rung: usize| {
            if rung > 0 {
                delivered.extend(pool.drain_completions().iter().map(|c| c.id));
            }
        };
        let rung_during = rings.swap(0, Ordering::SeqCst);
        turn(rung_during);
        for worker in workers {
            worker.join().unwrap();
        }
        // Once every push is done, the event loop turns once more only if the handle was rung
        // after its last drain: an undelivered completion without a ring is a lost wake-up.
        let rung_after = rings.swap(0, Ordering::SeqCst);
        turn(rung_after);

        delivered.sort();
        assert_eq!(delivered, [a, b], "every completion delivered exactly once");
        // No wake storm: a second ring needs a drain in between.
        assert!(rung_during + rung_after <= usize::from(rung_during > 0) + 1);
        assert!(pool.drain_completions().is_empty());
    });
}

#[test]
fn completions_racing_the_end_of_polling_are_delivered_without_a_lost_wake_up() {
    loom::model(|| {
        let TwoCompleting { pool, rings, ids: [a, b], workers } = two_completing_workers();

        // The main thread polls once, then stops polling with a drain, as the executor does when
        // its window passes; after that only a ring (at any time: the handle keeps it) brings it
        // back for one more drain.
        let polled: Vec<TaskId> = pool.poll_completions().iter().map(|c| c.id).collect();
        let drained: Vec<TaskId> = pool.drain_completions().iter().map(|c| c.id).collect();
        for worker in workers {
            worker.join().unwrap();
        }
        let rung = rings.swap(0, Ordering::SeqCst);
        let last: Vec<TaskId> = if rung > 0 { pool.drain_completions().iter().map(|c| c.id).collect() } else { Vec::new() };
        let mut delivered = [polled.clone(), drained.clone(), last.clone()].concat();
        delivered.sort();
        assert_eq!(delivered, [a, b], "polled {polled:?} drained {drained:?} rung {rung} last {last:?} left {:?}", pool.drain_completions().iter().map(|c| c.id).collect::<Vec<_>>());
        assert!(pool.drain_completions().is_empty());
    });
}

#[test]
fn submit_racing_a_parking_take_never_loses_the_wake_up() {
    loom::model(|| {
        let pool = quiet_pool(1);
        pool.submit(payload(1)).unwrap();
        complete(&pool, 0, &pool.take(0, 0));

        let worker = thread::spawn({
            let pool = Arc::clone(&pool);
            move || pool.take(0, 0)
        });
        let (_, dispatch) = pool.submit(payload(2)).unwrap();
        let take = worker.join().unwrap();

        match (&take, dispatch) {
            (Take::Work(_), Dispatch::Nothing) => assert_eq!(tags(&take), [2]),
            // The worker parked first: the submit must ring its doorbell, and the rung worker
            // finds the task.
            (Take::Idle, Dispatch::Wake(0)) => assert_eq!(tags(&pool.take(0, 0)), [2]),
            other => panic!("lost wake-up: {other:?}"),
        }
    });
}

#[test]
fn shutdown_with_cancel_racing_take_settles_each_record_once() {
    loom::model(|| {
        let pool = quiet_pool(1);
        let (a, _) = pool.submit(payload(1)).unwrap();
        let (b, _) = pool.submit(payload(2)).unwrap();

        let worker = thread::spawn({
            let pool = Arc::clone(&pool);
            move || {
                let mut taken = Vec::new();
                loop {
                    match pool.take(0, 0) {
                        Take::Idle => return (taken, true),
                        Take::Exit => return (taken, false),
                        work => taken.extend(complete(&pool, 0, &work)),
                    }
                }
            }
        });
        let ShutdownReport { cancelled, cancelled_ranges, wake } = pool.shutdown(true);
        assert!(cancelled_ranges.is_empty(), "no map job was submitted");
        let (taken, parked) = worker.join().unwrap();

        for (id, tag) in [(a, 1), (b, 2)] {
            assert!(
                cancelled.contains(&id) != taken.contains(&tag),
                "record {id}: cancelled {cancelled:?}, taken tags {taken:?}"
            );
        }
        if parked {
            // It parked before the shutdown, which must ring it so that it exits.
            assert_eq!(wake, [0]);
            assert_eq!(pool.take(0, 0), Take::Exit);
        }
        let stats = pool.stats();
        assert_eq!((stats.queued, stats.running), (0, 0));
    });
}

#[test]
fn job_items_racing_cancel_job_are_each_taken_once_or_cancelled() {
    loom::model(|| {
        let pool = quiet_pool(2);
        let (job, dispatches) = pool.submit_job(0, 1, b"[0,1,2]".to_vec()).unwrap().unwrap();
        assert_eq!(dispatches, [Dispatch::Spawn(0), Dispatch::Spawn(1)]);

        // Two workers take a range each (one item: nothing measured yet) while the job is
        // cancelled; the ranges are completed afterwards, which races nothing here.
        let workers: Vec<_> = (0..2)
            .map(|slot| {
                let pool = Arc::clone(&pool);
                thread::spawn(move || pool.take(slot, 0))
            })
            .collect();
        let cancelled = pool.cancel_job(job);
        let takes: Vec<Take> = workers.into_iter().map(|w| w.join().unwrap()).collect();

        let mut taken = Vec::new();
        for (slot, take) in (0..).zip(&takes) {
            let Take::Work(batch) = take else {
                assert_eq!(take, &Take::Idle, "nothing left once cancelled");
                continue;
            };
            for range in batch {
                let items: Vec<u8> = range.data.iter().filter(|b| b.is_ascii_digit()).map(|b| b - b'0').collect();
                assert_eq!(items.len(), range.items as usize);
                taken.extend(items);
            }
            for i in 1..batch.len() {
                pool.start_next(slot, i);
            }
            pool.complete(slot, batch.iter().map(|p| (p.kind, p.data.clone())).collect());
        }
        taken.sort();
        let expected: Vec<u8> = (0..taken.len() as u8).collect();
        assert_eq!(taken, expected, "each item taken once, the taken ones a prefix of the job");
        assert_eq!(taken.len() + cancelled, 3, "taken {taken:?}, cancelled {cancelled}: each item one or the other");
        assert_eq!(pool.cancel_job(job), 0);

        let mut delivered: Vec<(u32, u32)> = pool.drain_completions().iter().map(|c| (c.first_item, c.items)).collect();
        delivered.sort();
        let expected: Vec<(u32, u32)> = (0..taken.len() as u32).map(|i| (i, 1)).collect();
        assert_eq!(delivered, expected, "every taken range completes once, with its place in the job");
        let stats = pool.stats();
        assert_eq!((stats.queued, stats.running, stats.completed), (0, 0, taken.len() as u64));
    });
}

/// The stop protocol of a cancelled `map` run: the main thread marks the running records
/// (`Pool::stop`) and then sets the worker's interrupt word (a JavaScript `Int32Array` cell,
/// modelled by an atomic); the worker, at a checkpoint, clears the word before it asks which
/// records are stopped (`Pool::stopped`). Two records are stopped one after the other while the
/// worker passes checkpoints: whatever the interleaving, a checkpoint after the last stop sees
/// both, and the word never hides a mark.
#[test]
fn a_stop_racing_the_workers_checkpoints_is_never_lost() {
    loom::model(|| {
        let pool = quiet_pool(1);
        let a = pool.submit(Payload { func: 0, items: 1, kind: 0, data: vec![1], blocks: vec![] }).unwrap().0;
        let b = pool.submit(Payload { func: 0, items: 2, kind: 0, data: vec![2], blocks: vec![] }).unwrap().0;
        pool.measure(0, 1);
        let take = pool.take_now(0, 1);
        assert_eq!(tags(&take), [1, 2]);
        assert!(pool.start_next(0, 1));
        let word = Arc::new(AtomicUsize::new(0));

        // A checkpoint: the records the worker now knows to be stopped.
        let checkpoint = |pool: &Pool, word: &AtomicUsize, known: &mut Vec<u32>| {
            if word.load(Ordering::SeqCst) != 0 {
                word.store(0, Ordering::SeqCst);
                *known = pool.stopped(0);
            }
        };
        let worker = thread::spawn({
            let (pool, word) = (Arc::clone(&pool), Arc::clone(&word));
            move || {
                let mut known = Vec::new();
                checkpoint(&pool, &word, &mut known);
                checkpoint(&pool, &word, &mut known);
                known
            }
        });
        for id in [a, b] {
            assert_eq!(pool.stop(id), [0]);
            word.store(1, Ordering::SeqCst);
        }
        let mut known = worker.join().unwrap();
        // A checkpoint after both stops: it must know both records.
        checkpoint(&pool, &word, &mut known);
        assert_eq!(known, [0, 1]);
    });
}
