// Fault injection: tasks and callbacks that throw, exit, get killed, run out of heap, never
// return, initializers that fail, arguments that explode while being encoded. Each test checks
// the stated error on the stated futures, that every other future settles, and that a new
// executor in the same process works afterwards.
import test from 'ava';

import {
  BrokenExecutor,
  BrokenProcessPool,
  BrokenThreadPool,
  CancelledError,
  Future,
  ProcessPoolExecutor,
  ShutdownError,
  ThreadPoolExecutor,
} from '../../esm/index.mjs';
import { fixture, freshExecutorWorks, jsonLines, outcomes, rt, runNode, sleep, until, within } from './fixtures/reliability-helpers.mjs';

const POOLS = [
  { Executor: ThreadPoolExecutor, Broken: BrokenThreadPool, label: 'thread' },
  { Executor: ProcessPoolExecutor, Broken: BrokenProcessPool, label: 'process' },
];

/** Shuts `ex` down however it ended up (broken, shut down, open), bounded. */
async function cleanup(ex) {
  await within(15_000, ex.shutdown({ wait: true, cancelFutures: true }), 'cleanup shutdown');
}

/**
 * The common shape of a "the pool breaks" test: `before` futures complete first; then `fatal`
 * runs alongside `pending` (submitted after it); the fatal future and every pending one must fail
 * with `Broken`, later submits must throw it, shutdown must resolve, and a new executor works.
 */
async function breaksThePool(t, { Executor, Broken }, options, fatal, { check } = {}) {
  const ex = new Executor({ maxWorkers: 2, ...options });
  try {
    const before = await within(10_000, Promise.all([1, 2, 3].map((i) => ex.submit((x) => x * 10, i))), 'warm-up');
    t.deepEqual(before, [10, 20, 30], 'tasks before the fault succeed');
    const doomed = fatal(ex);
    // Pending behind it: slow enough that none can finish before the fault lands.
    const pending = Array.from({ length: 8 }, (_, i) => ex.submit((ms, v) => new Promise((r) => setTimeout(() => r(v), ms)), 2000, i));
    const all = [doomed, ...pending];
    const results = await outcomes(all, 15_000);
    for (const [i, [ok, value]] of results.entries()) {
      t.false(ok, `future #${i} failed`);
      t.true(value instanceof Broken, `future #${i} failed with ${Broken.name}, got ${value?.name}: ${value?.message}`);
      t.true(value instanceof BrokenExecutor);
    }
    t.true(all.every((f) => f.done() && !f.cancelled()), 'every future is done (failed, not cancelled)');
    const thrown = t.throws(() => ex.submit((x) => x, 1), { instanceOf: Broken }, 'a later submit throws the pool error');
    t.is(thrown.name, Broken.name);
    t.throws(() => ex.map((x) => x, [1]), { instanceOf: Broken }, 'a later map throws the pool error');
    check?.(results[0][1]);
    await within(10_000, ex.shutdown({ wait: true }), 'shutdown of the broken pool');
    t.throws(() => ex.submit((x) => x, 1), { instanceOf: Broken }, 'broken is reported before shut down');
    t.like(ex.stats(), { workers: 0, queued: 0, running: 0 });
  } finally {
    await cleanup(ex);
  }
  await freshExecutorWorks(t, Executor);
}

for (const pool of POOLS) {
  const { Executor, Broken, label } = pool;

  test(`${label}: a task that throws fails only its own future; the pool stays usable`, async (t) => {
    const ex = new Executor({ maxWorkers: 2 });
    try {
      const futures = [];
      for (let i = 0; i < 30; i++) futures.push(i % 3 === 1 ? ex.submit(rt('throwCoded'), `boom ${i}`) : ex.submit((x) => x, i));
      const results = await outcomes(futures);
      for (const [i, [ok, value]] of results.entries()) {
        if (i % 3 === 1) {
          t.false(ok);
          t.true(value instanceof RangeError, 'rebuilt as RangeError');
          t.is(value.message, `boom ${i}`);
          t.is(value.code, 'E_RELIABILITY');
        } else {
          t.deepEqual([ok, value], [true, i]);
        }
      }
      // A thrown value that cannot be cloned back and an unclonable result fail only their futures.
      const symbol = ex.submit(() => {
        throw Symbol('not cloneable');
      });
      const fn = ex.submit(() => () => 1);
      const fine = ex.submit((x) => x + 1, 1);
      const [s, f, ok] = await outcomes([symbol, fn, fine]);
      t.false(s[0]);
      t.true(s[1] instanceof TypeError, `an unclonable thrown value becomes a TypeError, got ${s[1]}`);
      t.regex(String(s[1].message), /cannot be cloned/);
      t.false(f[0]);
      t.true(f[1] instanceof TypeError, 'an unclonable result is a TypeError/DataCloneError');
      t.deepEqual(ok, [true, 2]);
      t.is(await ex.submit((x) => x * 2, 21), 42, 'the same executor still works');
    } finally {
      await cleanup(ex);
    }
    await freshExecutorWorks(t, Executor);
  });

  for (const code of [0, 3]) {
    test(`${label}: process.exit(${code}) in a task breaks the pool: it and every pending future fail with ${Broken.name}`, (t) =>
      breaksThePool(t, pool, {}, (ex) => ex.submit(rt('exitNow'), code), {
        check: (error) => t.regex(error.message, new RegExp(`exit code ${code}`), 'the message says how the worker ended'),
      }));
  }

  test(`${label}: process.exit after an await inside the task also breaks the pool`, (t) =>
    breaksThePool(t, pool, {}, (ex) =>
      ex.submit(async () => {
        await new Promise((r) => setTimeout(r, 30));
        process.exit(4);
      }),
    ));

  test(`${label}: a fault inside map() fails the iterator with ${Broken.name} at that position`, async (t) => {
    const ex = new Executor({ maxWorkers: 2 });
    try {
      const items = Array.from({ length: 40 }, (_, i) => i);
      const seen = [];
      const error = await within(
        15_000,
        (async () => {
          try {
            for await (const v of ex.map((x) => (x === 25 ? process.exit(5) : x), items, { chunksize: 1 })) seen.push(v);
          } catch (e) {
            return e;
          }
          return undefined;
        })(),
        'map iteration',
      );
      t.true(error instanceof Broken, `next() threw ${error?.name}`);
      t.true(seen.length <= 25, 'nothing at or after the fatal item was delivered');
      t.deepEqual(seen, items.slice(0, seen.length), 'what was delivered is correct and in order');
      t.throws(() => ex.submit((x) => x, 1), { instanceOf: Broken });
    } finally {
      await cleanup(ex);
    }
    await freshExecutorWorks(t, Executor);
  });

  test(`${label}: an initializer that throws breaks the pool; pending futures fail with ${Broken.name} carrying the cause`, async (t) => {
    const ex = new Executor({ maxWorkers: 2, initializer: rt('failingInit'), initargs: ['init exploded'] });
    try {
      const futures = Array.from({ length: 10 }, (_, i) => ex.submit((x) => x, i));
      for (const [ok, error] of await outcomes(futures)) {
        t.false(ok);
        t.true(error instanceof Broken, `got ${error?.name}`);
        t.regex(error.message, /initializer/i);
        t.true(error.cause instanceof TypeError, 'the cause is the initializer error, rebuilt');
        t.is(error.cause?.message, 'init exploded');
      }
      t.throws(() => ex.submit((x) => x, 1), { instanceOf: Broken });
    } finally {
      await cleanup(ex);
    }
    await freshExecutorWorks(t, Executor);
    // Even when the initializer is the fresh executor's own, a working one is fine after.
    await freshExecutorWorks(t, Executor, { initializer: (v) => (globalThis.__initialised = v), initargs: [1] });
  });

  test(`${label}: an initializer that calls process.exit breaks the pool`, async (t) => {
    const ex = new Executor({ maxWorkers: 2, initializer: rt('exitingInit') });
    try {
      const futures = Array.from({ length: 6 }, (_, i) => ex.submit((x) => x, i));
      for (const [ok, error] of await outcomes(futures)) {
        t.false(ok);
        t.true(error instanceof Broken, `got ${error?.name}: ${error?.message}`);
      }
      t.throws(() => ex.submit((x) => x, 1), { instanceOf: Broken });
    } finally {
      await cleanup(ex);
    }
    await freshExecutorWorks(t, Executor);
  });

  // Serial: it swaps console.error for a recorder.
  test.serial(`${label}: a done-callback that throws is reported, later callbacks still run, nothing reaches the caller`, async (t) => {
    const reported = [];
    const originalError = console.error;
    const onWarning = (w) => reported.push(String(w?.stack ?? w));
    console.error = (...args) => reported.push(args.map((a) => String(a?.stack ?? a)).join(' '));
    process.on('warning', onWarning);
    const ex = new Executor({ maxWorkers: 2 });
    try {
      const order = [];
      const f = ex.submit((x) => x, 7);
      f.addDoneCallback(() => order.push('first'));
      f.addDoneCallback(() => {
        order.push('second');
        throw new Error('callback exploded #1');
      });
      f.addDoneCallback(() => order.push('third'));
      // Neighbours settled in the same drain are not disturbed.
      const neighbours = Array.from({ length: 20 }, (_, i) => ex.submit((x) => x, i));
      neighbours.forEach((n) =>
        n.addDoneCallback(() => {
          throw new TypeError('neighbour callback exploded');
        }),
      );
      t.is(await f, 7);
      t.deepEqual(order, ['first', 'second', 'third']);
      t.deepEqual(await Promise.all(neighbours), Array.from({ length: 20 }, (_, i) => i));
      // Registered on a future that is already done: runs at once, and still does not throw.
      t.notThrows(() =>
        f.addDoneCallback(() => {
          throw new Error('callback exploded #2');
        }),
      );
      // A callback that throws while cancellation runs callbacks.
      const bare = new Future();
      let after = false;
      bare.addDoneCallback(() => {
        throw new Error('callback exploded #3');
      });
      bare.addDoneCallback(() => (after = true));
      t.true(bare.cancel());
      t.true(after);
      await sleep(10); // a warning is emitted on the next tick
      for (const marker of ['callback exploded #1', 'callback exploded #2', 'callback exploded #3', 'neighbour callback exploded']) {
        t.true(reported.some((r) => r.includes(marker)), `"${marker}" was reported`);
      }
      t.is(await ex.submit((x) => x + 1, 1), 2, 'the executor is usable');
    } finally {
      console.error = originalError;
      process.off('warning', onWarning);
      await cleanup(ex);
    }
    await freshExecutorWorks(t, Executor);
  });

  test(`${label}: done-callbacks that re-enter the executor (submit, cancel, shutdown) during completion`, async (t) => {
    const ex = new Executor({ maxWorkers: 2 });
    try {
      const chained = [];
      const victims = Array.from({ length: 50 }, (_, i) => ex.submit((ms, v) => new Promise((r) => setTimeout(() => r(v), ms)), 100, i));
      const first = ex.submit((x) => x, 'first');
      let cancelled = 0;
      first.addDoneCallback(() => {
        chained.push(ex.submit((x) => x * 2, 21));
        for (const v of victims) if (v.cancel()) cancelled++;
      });
      t.is(await first, 'first');
      t.is(await chained[0], 42, 'a submit from inside a done-callback runs');
      const results = await outcomes(victims);
      t.is(results.filter(([ok, e]) => !ok && e instanceof CancelledError).length, cancelled);
      t.true(results.every(([ok, v], i) => (ok ? v === i : v instanceof CancelledError)));
      // Shutdown from inside a callback: later futures are cancelled, the callback's own submit throws.
      const tail = Array.from({ length: 20 }, (_, i) => ex.submit((ms, v) => new Promise((r) => setTimeout(() => r(v), ms)), 50, i));
      const trigger = ex.submit((x) => x, 0);
      let submitError;
      trigger.addDoneCallback(() => {
        void ex.shutdown({ wait: false, cancelFutures: true });
        try {
          ex.submit((x) => x, 1);
        } catch (e) {
          submitError = e;
        }
      });
      await trigger;
      t.true(submitError instanceof ShutdownError);
      const tailResults = await outcomes(tail);
      t.true(tailResults.every(([ok, v], i) => (ok ? v === i : v instanceof CancelledError)), 'the tail is cancelled or correct');
    } finally {
      await cleanup(ex);
    }
    await freshExecutorWorks(t, Executor);
  });

  test(`${label}: an argument whose getter throws while encoding: submit throws that error, the executor stays usable`, async (t) => {
    const ex = new Executor({ maxWorkers: 2 });
    try {
      const boom = new Error('getter exploded');
      const bad = {
        ok: 1,
        get explode() {
          throw boom;
        },
      };
      const thrown = t.throws(() => ex.submit((x) => x, bad));
      t.is(thrown, boom, 'the getter\'s own error');
      // Deeper, and inside a value that is not JSON (forces the structured-clone path).
      const deep = { a: [1, 2, { b: bad }], n: NaN, m: new Map([[1, 2]]) };
      let deepError;
      let deepFuture;
      try {
        deepFuture = ex.submit((x) => x, deep);
      } catch (e) {
        deepError = e;
      }
      if (deepFuture !== undefined) {
        const [[ok, e]] = await outcomes([deepFuture]);
        t.false(ok, 'if submit does not throw, the future fails');
        deepError = e;
      }
      t.is(deepError, boom);
      // A Proxy whose traps throw.
      const trap = new Proxy(
        {},
        {
          ownKeys() {
            throw new RangeError('ownKeys trap exploded');
          },
          get() {
            throw new RangeError('get trap exploded');
          },
        },
      );
      let proxyError;
      try {
        const f = ex.submit((x) => x, { trap });
        const [[ok, e]] = await outcomes([f]);
        t.false(ok);
        proxyError = e;
      } catch (e) {
        proxyError = e;
      }
      t.true(proxyError instanceof Error, `a Proxy argument gives a clear error, got ${proxyError}`);
      // In map(): an item whose getter throws fails at its own position, after the items before it.
      const it = ex.map((x) => x, [1, 2, bad, 4]);
      t.deepEqual([(await it.next()).value, (await it.next()).value], [1, 2]);
      const mapError = await t.throwsAsync(it.next());
      t.is(mapError, boom);
      t.deepEqual(await it.next(), { done: true, value: undefined });
      // Nothing was left half-submitted: the executor is empty and usable.
      t.is(await ex.submit((x) => x + 1, 41), 42);
      t.like(ex.stats(), { queued: 0, running: 0 });
    } finally {
      await cleanup(ex);
    }
    await freshExecutorWorks(t, Executor);
  });
}

// ---------------------------------------------------------------------------------------------
// Thread pool only

test('thread: a task that runs out of heap (resourceLimits 16 MB) breaks the pool; the process is healthy', async (t) => {
  const rssBefore = process.memoryUsage().rss;
  await breaksThePool(
    t,
    POOLS[0],
    { resourceLimits: { maxOldGenerationSizeMb: 16 } },
    (ex) => ex.submit(rt('exhaustHeap')),
    {
      check: (error) => {
        t.regex(error.message, /exited abruptly/);
        t.is(error.cause?.code, 'ERR_WORKER_OUT_OF_MEMORY', 'the cause is the worker OOM error');
      },
    },
  );
  // The main thread can still allocate and run; its memory did not balloon.
  const big = new Array(1e6).fill(1);
  t.is(big.length, 1e6);
  t.true(process.memoryUsage().rss - rssBefore < 200 * 1024 * 1024, 'the main process did not absorb the worker heap');
  // The same limit on a fresh pool works for tasks that fit.
  await freshExecutorWorks(t, ThreadPoolExecutor, { resourceLimits: { maxOldGenerationSizeMb: 16 } });
});

for (const kind of ['spin', 'hang']) {
  test(`thread: a task that never returns (${kind}): shutdown({ wait: false, cancelFutures: true }) resolves, queued futures are cancelled`, async (t) => {
    const run = await runNode(fixture('reliability-hang.mjs'), [kind], { timeout: 30_000 });
    t.false(run.timedOut, 'the fixture finished');
    t.is(run.code, 0, run.stderr);
    const [report] = jsonLines(run);
    t.true(report?.ok, report?.error);
    t.true(report.shutdownMs < 1000, `shutdown resolved in ${report.shutdownMs} ms`);
    t.false(report.stuckDone, 'the stuck task is still running');
    t.true(report.stuckRunning);
    t.is(report.queuedCancelled, 20, 'every queued future is cancelled');
    t.deepEqual(report.queuedErrors, Array(20).fill('CancelledError'));
    t.is(report.submitAfter, 'ShutdownError');
    t.like(report.stats, { queued: 0, running: 1 });
    t.is(report.fresh, 42, 'a new executor in the same process works');
  });
}

// A task that has not started must stay cancellable (and runnable by an idle worker), as in
// Python's thread pool, which hands out one work item at a time: a worker's batch reserves the
// records after the first, which it claims one by one, and an idle worker steals them.
test('thread: futures queued behind a long task are neither stranded nor marked running while another worker idles', async (t) => {
  // In its own process, eight attempts on fresh pools: any stranding fails. (Under heavy load
  // the workers measure a higher cost and take smaller batches, so some attempts strand nothing.)
  const run = await runNode(fixture('reliability-strand.mjs'), ['8'], { timeout: 90_000 });
  t.false(run.timedOut);
  t.is(run.code, 0, run.stderr);
  const attempts = jsonLines(run);
  t.is(attempts.length, 8);
  for (const a of attempts) {
    t.true(a.lateCorrect, 'stranded futures do complete (with their own values) once the slow task ends');
    t.is(a.stranded, 0, `attempt ${a.attempt}: ${a.stranded} of 200 quick futures not done after 500 ms while a worker idles (cancel() true for ${a.cancelledOfStranded} of them)`);
    t.is(a.stats.running, 1, `attempt ${a.attempt}: stats().running is ${a.stats.running}; only the slow task has started`);
  }
});

// ---------------------------------------------------------------------------------------------
// Process pool only

test('process: a task that SIGKILLs its own process breaks the pool', (t) =>
  breaksThePool(t, POOLS[1], {}, (ex) => ex.submit(rt('killSelf')), {
    check: (error) => t.regex(error.message, /SIGKILL/),
  }));

test('process: a task that never returns: killWorkers() resolves, the running future fails, queued ones are cancelled', async (t) => {
  const ex = new ProcessPoolExecutor({ maxWorkers: 1 });
  try {
    const stuck = ex.submit(rt('spinForever'));
    const queued = Array.from({ length: 20 }, (_, i) => ex.submit((x) => x, i));
    await until(() => stuck.running(), 10_000, 'stuck task running');
    await sleep(50);
    await within(5000, ex.killWorkers(), 'killWorkers()');
    const [[ok, error]] = await outcomes([stuck]);
    t.false(ok);
    t.true(error instanceof BrokenProcessPool, `the running future fails with BrokenProcessPool, got ${error?.name}`);
    const results = await outcomes(queued);
    t.true(results.every(([ok, e]) => !ok && e instanceof CancelledError), 'queued futures are cancelled');
    t.true(queued.every((f) => f.cancelled()));
    t.throws(() => ex.submit((x) => x, 1), { instanceOf: ShutdownError });
    t.like(ex.stats(), { workers: 0, queued: 0, running: 0 });
  } finally {
    await cleanup(ex);
  }
  await freshExecutorWorks(t, ProcessPoolExecutor);
});

test('process: a task that runs out of heap (--max-old-space-size=16) breaks the pool; the parent is healthy', async (t) => {
  // In a separate process, to keep V8's fatal-error report out of the test output.
  const run = await runNode(fixture('reliability-process-oom.mjs'), [], { timeout: 60_000 });
  t.false(run.timedOut);
  t.is(run.code, 0, run.stderr);
  const [report] = jsonLines(run);
  t.true(report?.ok, report?.error);
  t.deepEqual(report.errors, Array(7).fill('BrokenProcessPool'));
  t.regex(report.message, /SIGABRT|exit code/);
  t.is(report.submitAfter, 'BrokenProcessPool');
  t.is(report.fresh, 42);
  t.regex(run.stderr, /heap/i, 'the child really ran out of heap');
});

test('process: an idle child SIGKILLed from outside: later work either runs correctly or fails with BrokenProcessPool, never hangs', async (t) => {
  const ex = new ProcessPoolExecutor({ maxWorkers: 2 });
  try {
    const pids = await outcomes([ex.submit(rt('sleep'), 50, 'a'), ex.submit(rt('sleep'), 50, 'b')]);
    t.true(pids.every(([ok]) => ok));
    const childPids = await Promise.all([ex.submit(() => process.pid), ex.submit(() => process.pid)]);
    process.kill(childPids[0], 'SIGKILL');
    await until(() => ex.stats().workers < 2, 5000, 'the dead child noticed').catch(() => {});
    await sleep(100);
    let futures;
    try {
      futures = Array.from({ length: 12 }, (_, i) => ex.submit((x) => x * 2, i));
    } catch (error) {
      t.true(error instanceof BrokenProcessPool, `submit threw ${error?.name}`);
      return;
    }
    const results = await outcomes(futures, 15_000);
    const broken = results.filter(([ok, e]) => !ok && e instanceof BrokenProcessPool).length;
    const right = results.filter(([ok, v], i) => ok && v === i * 2).length;
    t.is(broken + right, 12, 'each future has its own result or BrokenProcessPool');
    t.log(broken === 0 ? 'the dead idle child was replaced; the pool works' : `${broken} futures failed with BrokenProcessPool`);
  } finally {
    await cleanup(ex);
  }
  await freshExecutorWorks(t, ProcessPoolExecutor);
});
