// Stopping running work: `run`'s signal and timeout reach a running task through its own
// `currentTask().signal` (at once in a synchronous loop: a thread's here, a child's in
// process-stopping.test.mjs); a task that does not end within `abortGrace` is stopped, its worker replaced, and
// only its future fails, with the reason. Timing never decides these tests: the bounds only tell a
// hang from an answer.
import test from 'ava';

import { getEventListeners } from 'node:events';

import { CancelledError, currentTask, InvalidStateError, ProcessPoolExecutor, task, ThreadPoolExecutor, TimeoutError } from '../../esm/index.mjs';

const POOLS = [
  ['ThreadPoolExecutor', ThreadPoolExecutor],
  ['ProcessPoolExecutor', ProcessPoolExecutor],
];

const until = (condition) =>
  new Promise((resolve) => {
    const look = () => (condition() ? resolve() : setTimeout(look, 2));
    look();
  });

async function using(ex, body) {
  try {
    return await body(ex);
  } finally {
    await ex.shutdown({ cancelFutures: true });
  }
}

test('currentTask() outside a task is an InvalidStateError', (t) => {
  t.throws(() => currentTask(), { instanceOf: InvalidStateError, message: /only available inside a task/ });
});

test('ThreadPoolExecutor: a synchronous loop sees its signal at once and ends with the reason', (t) =>
  using(new ThreadPoolExecutor({ maxWorkers: 1, abortGrace: Infinity }), async (ex) => {
    const controller = new AbortController();
    const future = ex.run(() => {
      const { signal } = currentTask();
      let spins = 0;
      while (!signal.aborted) spins++;
      signal.throwIfAborted();
      return spins;
    }, [], { signal: controller.signal });
    await until(() => future.running());
    const reason = new RangeError('enough');
    controller.abort(reason);
    const error = await t.throwsAsync(future, { instanceOf: RangeError, message: 'enough' });
    t.is(error, reason, 'it threw its signal\'s reason: the future fails with the reason itself');
    t.is(await ex.submit((x) => x + 1, 1), 2, 'the same worker goes on (abortGrace: Infinity never stops it)');
    t.is(ex.stats().workers, 1);
  }));

for (const [name, Pool] of POOLS) {
  test(`${name}: each task has a signal of its own, an AbortSignal that a later task's abort leaves alone`, (t) =>
    using(new Pool({ maxWorkers: 1, abortGrace: Infinity }), async (ex) => {
      const first = await ex.submit(() => {
        const { signal } = currentTask();
        globalThis.firstSignal = signal;
        return [signal instanceof AbortSignal, signal.aborted, signal.reason, currentTask().signal === signal];
      });
      t.deepEqual(first, [true, false, undefined, true]);
      const controller = new AbortController();
      const second = ex.run(() => {
        const { signal } = currentTask();
        while (!signal.aborted);
        return [signal === globalThis.firstSignal, globalThis.firstSignal.aborted, globalThis.firstSignal.reason, signal.reason.message];
      }, [], { signal: controller.signal });
      await until(() => second.running());
      controller.abort(new Error('second only'));
      t.deepEqual(await second, [false, false, undefined, 'second only']);
      const after = await ex.submit(() => [globalThis.firstSignal.aborted, currentTask().signal.aborted]);
      t.deepEqual(after, [false, false], 'a task after the aborted one starts with a signal not aborted');
    }));

  test(`${name}: an abort listener runs when the task's event loop does`, (t) =>
    using(new Pool({ maxWorkers: 1, abortGrace: Infinity }), async (ex) => {
      const controller = new AbortController();
      const future = ex.run(
        () =>
          new Promise((resolve, reject) => {
            const { signal } = currentTask();
            const timer = setTimeout(resolve, 20_000, 'not aborted');
            signal.addEventListener('abort', () => {
              clearTimeout(timer);
              reject(new Error(`listener saw: ${signal.reason.message}`));
            });
          }),
        [],
        { signal: controller.signal },
      );
      await until(() => future.running());
      controller.abort(new Error('go away'));
      await t.throwsAsync(future, { message: 'listener saw: go away' });
    }));

  test(`${name}: a task that ignores its signal is stopped after abortGrace; only its future fails, and the pool goes on`, (t) =>
    using(new Pool({ maxWorkers: 2, abortGrace: 50 }), async (ex) => {
      const controller = new AbortController();
      const stuck = ex.run(() => {
        for (;;);
      }, [], { signal: controller.signal });
      await until(() => stuck.running());
      const others = Array.from({ length: 6 }, (_, i) => ex.submit((x) => x * 10, i));
      const reason = new Error('stuck');
      controller.abort(reason);
      const error = await t.throwsAsync(stuck);
      t.is(error, reason, 'the future fails with the signal’s reason itself');
      t.deepEqual(await Promise.all(others), [0, 10, 20, 30, 40, 50]);
      t.is(await ex.submit((x) => `after ${x}`, 'the stop'), 'after the stop');
    }));

  test(`${name}: timeout counts from the start and fails the task with a TimeoutError`, (t) =>
    using(new Pool({ maxWorkers: 1, abortGrace: 50 }), async (ex) => {
      const gate = ex.submit((ms) => new Promise((resolve) => setTimeout(resolve, ms, 'first')), 150);
      // Queued behind 150 ms of work, with a 100 ms timeout: it must still run to its own timeout.
      const spin = ex.run((ms) => {
        const end = Date.now() + ms;
        while (Date.now() < end);
        return 'finished';
      }, [60], { timeout: 100 });
      const slow = ex.run((ms) => {
        const end = Date.now() + ms;
        while (Date.now() < end);
        return 'finished';
      }, [20_000], { timeout: 100 });
      t.is(await gate, 'first');
      t.is(await spin, 'finished', 'waiting in the queue does not count');
      const error = await t.throwsAsync(slow, { instanceOf: TimeoutError });
      t.regex(error.message, /timeout of 100 ms/);
      t.is(await ex.submit(() => 'next'), 'next');
    }));

  test(`${name}: run checks timeout and abortGrace`, (t) => {
    const ex = new Pool({ maxWorkers: 1 });
    t.throws(() => ex.run((x) => x, [1], { timeout: -1 }), { instanceOf: RangeError, message: /timeout must be >= 0/ });
    t.throws(() => ex.run((x) => x, [1], { timeout: '5' }), { instanceOf: TypeError, message: /timeout must be a number/ });
    t.throws(() => new Pool({ abortGrace: -5 }), { instanceOf: RangeError, message: /abortGrace/ });
    t.throws(() => new Pool({ abortGrace: 'soon' }), { instanceOf: TypeError, message: /abortGrace/ });
    t.notThrows(() => new Pool({ abortGrace: Infinity }));
    return ex.shutdown();
  });
}

for (const [name, Pool] of POOLS) {
  test(`${name}: a task() module imports currentTask from the package and sees its signal`, (t) =>
    using(new Pool({ maxWorkers: 1, abortGrace: Infinity }), async (ex) => {
      const controller = new AbortController();
      const future = ex.run(task(new URL('./fixtures/current-task.mjs', import.meta.url), 'waitForAbort'), [], { signal: controller.signal });
      await until(() => future.running());
      controller.abort(new Error('from the caller'));
      t.is(await future, 'aborted: from the caller');
      t.false(await ex.submit(() => currentTask().signal.aborted), 'a new task starts with a signal of its own');
    }));
}

for (const [name, Pool] of POOLS) {
  test(`${name}: map's signal ends the run: the pending next() rejects with the reason, nothing more runs`, (t) =>
    using(new Pool({ maxWorkers: 2 }), async (ex) => {
      const controller = new AbortController();
      const reason = new Error('no more');
      const seen = [];
      const run = ex.map((ms) => new Promise((resolve) => setTimeout(resolve, ms, ms)), Array.from({ length: 40 }, () => 20), { chunksize: 1, signal: controller.signal });
      const error = await t.throwsAsync(async () => {
        for await (const x of run) {
          seen.push(x);
          if (seen.length === 3) controller.abort(reason);
        }
      });
      t.is(error, reason);
      t.deepEqual(seen, [20, 20, 20]);
      t.deepEqual(await run.next(), { done: true, value: undefined }, 'after the reason, the end');
      t.true(ex.stats().completed < 40, 'the items not started never ran');
      const before = new AbortController();
      before.abort(new Error('already'));
      await t.throwsAsync(ex.map((x) => x, [1, 2], { signal: before.signal }).next(), { message: 'already' });
      t.throws(() => ex.map((x) => x, [1], { signal: 'stop' }), { instanceOf: TypeError, message: /signal must be an AbortSignal/ });
    }));
}

test("ThreadPoolExecutor: map's signal reaches its running item's own signal, with the reason", (t) =>
  using(new ThreadPoolExecutor({ maxWorkers: 1, abortGrace: Infinity }), async (ex) => {
    const seen = new Int32Array(new SharedArrayBuffer(8));
    const controller = new AbortController();
    const run = ex.map(
      (flags) => {
        const { signal } = currentTask();
        Atomics.store(flags, 1, 1); // started
        while (!signal.aborted);
        Atomics.store(flags, 0, signal.reason?.message === 'no more' ? 1 : 2);
        return 'ended';
      },
      [seen],
      { signal: controller.signal },
    );
    const pending = run.next();
    await until(() => Atomics.load(seen, 1) === 1);
    controller.abort(new Error('no more'));
    await t.throwsAsync(pending, { message: 'no more' });
    await until(() => Atomics.load(seen, 0) !== 0);
    t.is(Atomics.load(seen, 0), 1, 'the item saw the signal with its reason');
    t.is(await ex.submit((x) => x + 1, 1), 2);
    t.is(ex.stats().workers, 1, 'the same worker goes on (abortGrace: Infinity never stops it)');
  }));

for (const [name, Pool] of POOLS) {
  test(`${name}: a map item that ignores the run's signal is stopped after abortGrace; the pool goes on`, (t) =>
    using(new Pool({ maxWorkers: 1, abortGrace: 30 }), async (ex) => {
      const controller = new AbortController();
      const run = ex.map(
        (x) => {
          if (x === 1) for (;;);
          return x;
        },
        [0, 1, 2],
        { chunksize: 1, signal: controller.signal },
      );
      t.is((await run.next()).value, 0);
      const pending = run.next();
      await until(() => ex.stats().running === 1);
      controller.abort(new Error('stop it'));
      await t.throwsAsync(pending, { message: 'stop it' });
      // One worker, which ran the endless item: only its forced stop lets this task run.
      t.is(await ex.submit((x) => x + 1, 41), 42);
      t.false(ex.stats().broken ?? false);
    }));
}

test('ThreadPoolExecutor: after a break out of a map, the item running finishes (as Python cancels), past abortGrace', (t) =>
  using(new ThreadPoolExecutor({ maxWorkers: 1, abortGrace: 10 }), async (ex) => {
    const flags = new Int32Array(new SharedArrayBuffer(12));
    const values = [];
    for await (const x of ex.map(
      (flags, x) => {
        if (x !== 1) return x;
        Atomics.store(flags, 0, 1); // started
        const end = Date.now() + 200;
        while (Date.now() < end); // runs past abortGrace
        Atomics.store(flags, 2, 1); // finished
        return x;
      },
      [flags, flags, flags],
      [0, 1, 2],
      { chunksize: 1 },
    )) {
      values.push(x);
      await until(() => Atomics.load(flags, 0) === 1);
      break;
    }
    t.deepEqual(values, [0]);
    await until(() => Atomics.load(flags, 2) === 1);
    t.is(await ex.submit((x) => x + 1, 41), 42);
  }));

test('ThreadPoolExecutor: one signal shared by 2,000 runs has one listener (no leak warning); aborting it cancels the waiting runs and aborts the running ones', (t) =>
  using(new ThreadPoolExecutor({ maxWorkers: 2, abortGrace: Infinity }), async (ex) => {
    const warnings = [];
    const onWarning = (warning) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const controller = new AbortController();
      const { signal } = controller;
      const spin = () => {
        const own = currentTask().signal;
        while (!own.aborted);
        own.throwIfAborted();
      };
      const futures = Array.from({ length: 2_000 }, () => ex.run(spin, [], { signal }));
      t.is(getEventListeners(signal, 'abort').length, 1);
      await until(() => futures.filter((f) => f.running()).length === 2);
      const reason = new Error('all of them');
      controller.abort(reason);
      const outcomes = await Promise.all(futures.map((f) => f.then(() => 'resolved', (e) => (e === reason ? 'aborted' : e instanceof CancelledError && e.cause === reason ? 'cancelled' : `other: ${e}`))));
      t.is(outcomes.filter((o) => o === 'aborted').length, 2, 'the two running threw their reason');
      t.is(outcomes.filter((o) => o === 'cancelled').length, 1_998, 'the rest never ran');
      await new Promise((resolve) => setImmediate(resolve));
      t.deepEqual(warnings, []);
      // Runs that ended leave nothing behind on a signal that lives on.
      const lasting = new AbortController().signal;
      await Promise.all(Array.from({ length: 100 }, (_, i) => ex.run((x) => x, [i], { signal: lasting })));
      t.is(getEventListeners(lasting, 'abort').length, 1);
    } finally {
      process.off('warning', onWarning);
    }
  }));

test('ThreadPoolExecutor: one signal shared by 300 map runs has one listener; aborting it ends every run with the reason', (t) =>
  using(new ThreadPoolExecutor({ maxWorkers: 2, abortGrace: Infinity }), async (ex) => {
    const controller = new AbortController();
    const { signal } = controller;
    const runs = Array.from({ length: 300 }, (_, i) => ex.map((x) => x * 2, [i, i + 1, i + 2], { signal }));
    t.is(getEventListeners(signal, 'abort').length, 1);
    // Each run gives its first value, then the signal ends them all.
    t.deepEqual(await Promise.all(runs.map(async (run) => (await run.next()).value)), Array.from({ length: 300 }, (_, i) => 2 * i));
    const reason = new Error('enough maps');
    controller.abort(reason);
    const ends = await Promise.all(runs.map((run) => run.next().then((r) => (r.done ? 'done' : 'value'), (e) => (e === reason ? 'reason' : `other: ${e}`))));
    t.deepEqual(new Set(ends), new Set(['reason']));
    // Runs that ended leave nothing behind on a signal that lives on.
    const lasting = new AbortController().signal;
    for (let i = 0; i < 20; i++) for await (const _ of ex.map((x) => x, [1, 2], { signal: lasting }));
    t.is(getEventListeners(lasting, 'abort').length, 1);
  }));
